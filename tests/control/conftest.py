"""tradctl runs against a real daemon: the daemon fixtures (`start_daemon`, `sqlite_url`)
are tests.fixtures.daemon's, a plugin of tests/conftest.py."""
