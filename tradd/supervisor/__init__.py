"""The supervisor (`tradd run`): one worker process per strategy, kept alive and answerable."""
