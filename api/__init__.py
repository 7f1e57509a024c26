"""flyonce's service: the only package with a database and HTTP. Its rooms, and who may enter:

- ``core``: infrastructure every room stands on (settings, database, tables, clock, bus, errors,
  accounts, media, zones); imports no other room.
- ``patrols``, ``lifecycle``, ``enforcement``, ``fleet``, ``evaluation``: the domain, in layers
  (each may import the ones listed before it and ``core``; ``fleet`` and ``evaluation`` not each
  other). Domain modules take a ``Session`` and plain values, return rows or plain objects, and
  never import FastAPI or a route.
- ``monitoring``: Prometheus metrics and structured logs; imports no other room (above ``core``).
- ``handoff``: signed webhooks and exports for a city's platforms; beside ``fleet`` and
  ``evaluation``, reading ``lifecycle``.
- ``routes``: HTTP only: parse, call a verb, shape the answer; no SQL of their own.
- ``web``: the pages and their static files (no Python).
- ``app`` (wires the rooms into one FastAPI app), ``main`` and ``cli`` (the process entry points)
  and ``demo`` (the simulated closed loop): the only places that may import ``simulators``.

The rules are checked by import-linter (``[tool.importlinter]`` in pyproject.toml,
tests/test_architecture.py).
"""
