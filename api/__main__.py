"""`python -m api` is the `flyonce` command."""

from api.cli import app

app(prog_name="flyonce")
