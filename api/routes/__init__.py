"""HTTP only, one module per resource: parse, call a domain verb, shape the answer. No SQL here;
``deps`` holds the request-scoped dependencies (session, user, clock, bus)."""
