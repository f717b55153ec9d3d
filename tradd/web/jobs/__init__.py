"""The console's research jobs: the queue (`JobStore`), the processes (`JobRunner`), and
what a job looks like to the API (`views`)."""
