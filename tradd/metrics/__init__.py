"""Prometheus metrics: definitions over the supervisor's view, and the /metrics endpoint."""
