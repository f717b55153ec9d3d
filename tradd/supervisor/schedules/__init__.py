"""The daemon's scheduler: `[[schedules]]` run as research jobs, their ends reported."""
