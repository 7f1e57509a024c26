"""The service's infrastructure: settings, database and tables, clock, alert bus, errors, accounts,
images on disk, zones. Imports no other room of ``api``; every room may import it."""
