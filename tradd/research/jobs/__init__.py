"""Research jobs: the `web_jobs` table shared by the console and the daemon's schedules."""
