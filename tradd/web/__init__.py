"""The web console (`tradd web`): research jobs from the browser and a live view of the
daemon, over the same code as the command line. See docs/web.md.

A process of its own: it reads the daemon's database (users, runs, jobs, audit), talks to
the daemon only over its control socket, and starts every research job as a `tradd`
command in a process of its own, so a crash or restart of the console touches neither.
"""
