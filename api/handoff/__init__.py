"""Hand-off to a city's platforms: signed webhooks of lifecycle changes (the audit trail is the
outbox) and exports of events and hot spots. Reads ``lifecycle`` and ``core``; routes serve it."""
