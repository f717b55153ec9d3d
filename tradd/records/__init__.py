"""What crosses a process boundary, typed: the worker's status, its events and their kinds,
the worker command protocol and its error codes, entry arguments, the lifecycle states.

The lowest layer of tradd beside `config` and `errors`: it imports nothing else of tradd,
so the worker, the supervisor, control, metrics, alerts and the web console all speak it
without importing each other.
"""
