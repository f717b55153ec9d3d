"""The rehearsal: the real daemon against the simulator for simulated days, under faults.

`python -m tradd.rehearsal --days N --seed S` starts `tradd simgw` and `tradd run` as
processes, plays a seeded fault schedule against them (process kills, the simulator's
whole fault catalogue, gateway restarts, reloads, pause/flatten, connection floods) and
checks the ledger against the gateway, the control socket's answers, each strategy's
tradable share of open-market time and the processes' memory and descriptors. It sits
above the supervisor, the control plane and the simulator; nothing in tradd imports it.
"""
