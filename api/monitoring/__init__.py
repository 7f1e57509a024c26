"""What the machines around the service read: Prometheus metrics and structured (JSON) logs.
Imports nothing of the service but is handed its engine and fleet view by the app."""
