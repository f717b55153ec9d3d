"""What several research commands share across processes and machines: a study of units
(`units`, on Optuna's storage, as `tradd optimize` uses it for trials) and the pool that
claims and runs them (`unitpool`)."""
