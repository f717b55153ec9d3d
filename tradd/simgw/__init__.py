"""The IB Gateway simulator (`tradd simgw`): the TWS wire protocol on loopback over replayed
bars, for `make run`, the tests and the rehearsals (docs/simgw.md)."""
