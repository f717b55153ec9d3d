"""Alerts: events in, email/SMS/webhook out, through a durable outbox, with nothing lost."""
