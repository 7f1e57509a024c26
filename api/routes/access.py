"""Who may call what: the one table of role × route × verb, and its rendering as docs/roles.md.

Every route of the service has one entry here, keyed by (HTTP method, path template); a route
without one is refused by ``deps.authorized`` and fails ``tests/api/test_access_table.py``. An
entry names each role that may call the route and the *scope* of what that role then sees:

- ``all``: every object the route serves.
- ``own team``: a ground team's own tasks and the events, evidence and codes of those tasks.
- ``own department``: a department's own patrol requests and the flights serving them, with
  other departments' titles and areas left out.
- ``ack only``: a machine account gets an acknowledgement (an id and what happened), never the
  stored object.
- ``self``: the caller's own account.

Roles not named get 403 before anything is looked up, so a refused role learns nothing about
which ids exist. Inside ``own team`` / ``own department`` an object that is not the caller's is
answered exactly like one that does not exist: 404 with the same body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from api.core.auth import Role


class Scope(StrEnum):
    ALL = "all"
    OWN_TEAM = "own team"
    OWN_DEPARTMENT = "own department"
    ACK = "ack only"
    SELF = "self"


# WebSockets have no HTTP method of their own; the table names them with this one.
WEBSOCKET = "WEBSOCKET"
# Static files are mounted, not routed: one entry covers every file below the mount.
MOUNT = "GET*"


@dataclass(frozen=True)
class Rule:
    """Who may call one route: roles and their scope; ``public`` routes need no login."""

    roles: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    public: bool = False
    note: str = ""

    def scope_of(self, role: str) -> Scope | None:
        """The role's scope on this route; None when the role may not call it."""
        return self.roles.get(role)


def public(note: str = "") -> Rule:
    return Rule(public=True, note=note)


def allow(note: str = "", **scopes: Scope) -> Rule:
    """A rule from role names as keywords: ``allow(operator=ALL, ground_team=OWN_TEAM)``."""
    return Rule(roles=MappingProxyType({Role(name): scope for name, scope in scopes.items()}),
                note=note)


ALL, TEAM, DEPT, ACK = Scope.ALL, Scope.OWN_TEAM, Scope.OWN_DEPARTMENT, Scope.ACK
# The README's roles, as the building blocks of the table.
STAFF = {"operator": ALL, "admin": ALL}  # operators and admins act on everything
READ_ALL = {**STAFF, "evaluator": ALL}  # and evaluators read everything
TEAM_READ = {**READ_ALL, "ground_team": TEAM}  # a ground team reads its own tasks' events
TEAM_WRITE = {**STAFF, "ground_team": TEAM}  # and changes its own tasks
ADMIN = {"admin": ALL}

ACCESS: dict[tuple[str, str], Rule] = {
    # -- public: login, health, the API's own docs, the web pages' files, the public task codes
    ("GET", "/"): public("redirect to the pages"),
    ("GET", "/healthz"): public(),
    ("GET", "/readyz"): public("status for all; which check failed, and the leader, for an admin's token"),
    ("GET", "/metrics"): public("Prometheus; needs FLYONCE_METRICS_TOKEN when that is set"),
    ("GET", "/openapi.json"): public(),
    ("GET", "/docs"): public(),
    ("GET", "/docs/oauth2-redirect"): public(),
    ("GET", "/redoc"): public(),
    ("GET", "/ui"): public("each page checks the login and the REST API checks again"),
    ("GET", "/ui/"): public(),
    ("GET", "/ui/{page}"): public(),
    (MOUNT, "/ui/static"): public(),
    (MOUNT, "/ui/vendor"): public(),
    ("POST", "/api/v1/auth/token"): public("log in"),
    ("GET", "/api/v1/public/tasks/{code}"): public("the person inspected, holding the task code"),
    ("POST", "/api/v1/public/tasks/{code}/feedback"): public(),
    ("GET", "/c/{code:path}"): public(),
    ("GET", "/api/v1/public/site-notices/{code}"): public("the site inspected, holding the "
                                                          "notice code"),
    ("GET", "/n/{code:path}"): public("a visit's printable notice"),
    # -- accounts
    ("GET", "/api/v1/auth/me"): allow(**{r.value: Scope.SELF for r in Role}),
    ("GET", "/api/v1/users"): allow(**ADMIN),
    ("POST", "/api/v1/users"): allow(**ADMIN),
    # -- events: ingest, read, the lifecycle
    ("POST", "/api/v1/candidates"): allow(
        "a detector learns the event id and whether it was new, merged or a retry", **STAFF,
        detector=ACK),
    ("POST", "/api/v1/candidates/batch"): allow(
        "as POST /candidates, per candidate", **STAFF, detector=ACK),
    ("POST", "/api/v1/detection/reports"): allow(
        "a detection worker's frames/s and skipped frames, for /metrics", **STAFF, detector=ACK),
    ("GET", "/api/v1/events"): allow(**TEAM_READ),
    ("GET", "/api/v1/events/{event_id}"): allow(**TEAM_READ),
    ("GET", "/api/v1/events/{event_id}/audit"): allow(**TEAM_READ),
    ("GET", "/api/v1/events/{event_id}/sightings"): allow(**TEAM_READ),
    ("POST", "/api/v1/events/{event_id}/sightings/{sighting_id}/split"): allow(**STAFF),
    ("POST", "/api/v1/events/{event_id}/review"): allow(**STAFF),
    ("POST", "/api/v1/events/{event_id}/assign"): allow(**STAFF),
    ("POST", "/api/v1/events/{event_id}/on-scene"): allow(**TEAM_WRITE),
    ("POST", "/api/v1/events/{event_id}/resolve"): allow(**TEAM_WRITE),
    ("POST", "/api/v1/events/{event_id}/evaluate"): allow(**STAFF),
    ("POST", "/api/v1/events/{event_id}/evidence"): allow(**TEAM_WRITE),
    ("GET", "/api/v1/evidence/{evidence_id}"): allow(**TEAM_READ),
    (WEBSOCKET, "/api/v1/live"): allow("a ground team receives its own tasks' events only",
                                       **TEAM_READ),
    # -- remote persuasion and scene checks
    ("POST", "/api/v1/events/{event_id}/persuade"): allow(**STAFF),
    ("GET", "/api/v1/events/{event_id}/persuasions"): allow(**READ_ALL),
    ("POST", "/api/v1/events/{event_id}/scene-checks"): allow(
        "a detector learns the check's id, not the event's state", **STAFF, detector=ACK),
    ("GET", "/api/v1/events/{event_id}/scene-checks"): allow(**READ_ALL),
    # -- penalties: the discretion baseline, and the reminder slip of a first minor offence
    ("GET", "/api/v1/events/{event_id}/penalty-baseline"): allow(**TEAM_READ),
    ("POST", "/api/v1/events/{event_id}/penalty"): allow(**STAFF),
    ("GET", "/api/v1/events/{event_id}/reminder-slip"): allow(
        "a ground team prints it for its own tasks' events", **TEAM_READ),
    # -- fleet, teams and tasks
    ("GET", "/api/v1/drones"): allow("ground teams see their tasks, not the fleet", **READ_ALL),
    ("POST", "/api/v1/drones"): allow(**ADMIN),
    ("GET", "/api/v1/teams"): allow("a ground team sees its own team", **TEAM_READ),
    ("POST", "/api/v1/teams"): allow(**ADMIN),
    ("PUT", "/api/v1/teams/{team_id}/position"): allow(ground_team=TEAM),
    ("GET", "/api/v1/tasks"): allow(**TEAM_READ),
    ("POST", "/api/v1/tasks/{task_id}/accept"): allow(ground_team=TEAM),
    ("GET", "/api/v1/tasks/{task_id}/qr.svg"): allow(**TEAM_READ),
    ("GET", "/api/v1/tasks/{task_id}/qr.png"): allow(**TEAM_READ),
    # -- dispatch: the planner's view places every event, drone and team, so staff only
    ("GET", "/api/v1/dispatch/events/{event_id}/suggestions"): allow(**READ_ALL),
    ("GET", "/api/v1/dispatch/drones"): allow(**READ_ALL),
    ("POST", "/api/v1/dispatch/events/{event_id}/dispatch"): allow(**STAFF),
    ("POST", "/api/v1/dispatch/events/{event_id}/release"): allow(**STAFF),
    ("POST", "/api/v1/dispatch/drones/{drone_id}/patrol"): allow(**STAFF),
    # -- figures
    ("GET", "/api/v1/metrics/summary"): allow(**READ_ALL),
    ("GET", "/api/v1/detection/models"): allow(
        "each detector weights version and its precision with the operators", **READ_ALL),
    ("GET", "/api/v1/reviews/samples"): allow(
        "operators' verdicts kept as labelled samples, for retraining", **READ_ALL),
    ("GET", "/api/v1/hotspots"): allow(**READ_ALL),
    ("GET", "/api/v1/reachability"): allow(**READ_ALL),
    ("GET", "/api/v1/reachability.png"): allow(**READ_ALL),
    # -- hand-off to a city's platforms: exports with the lists' filters, webhook dead letters
    ("GET", "/api/v1/exports/events"): allow("a ground team exports its own tasks' events",
                                             **TEAM_READ),
    ("GET", "/api/v1/exports/hotspots"): allow(**READ_ALL),
    ("GET", "/api/v1/webhooks/deliveries"): allow(**ADMIN),
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay"): allow(**ADMIN),
    # -- department patrols (综合飞一次)
    ("POST", "/api/v1/patrol-requests"): allow(**STAFF, department=DEPT),
    ("GET", "/api/v1/patrol-requests"): allow(**READ_ALL, department=DEPT),
    ("GET", "/api/v1/patrol-requests/{request_id}"): allow(**READ_ALL, department=DEPT),
    ("DELETE", "/api/v1/patrol-requests/{request_id}"): allow(**STAFF, department=DEPT),
    ("POST", "/api/v1/patrol-plan"): allow(**STAFF),
    ("GET", "/api/v1/patrol-flights"): allow(
        "a department sees the flights serving its requests, its own requests on them, the "
        "other departments' names only, and the path inside its own areas", **READ_ALL,
        department=DEPT),
    # -- regulated sites: admins keep the registry, grades and approvals; operators plan visits
    ("POST", "/api/v1/sites"): allow(**ADMIN),
    ("POST", "/api/v1/sites/import"): allow(**ADMIN),
    ("GET", "/api/v1/sites"): allow(**READ_ALL),
    ("GET", "/api/v1/sites/{site_id}"): allow(**READ_ALL),
    ("POST", "/api/v1/sites/{site_id}/patrol-request"): allow(
        "the site's drone look, filed for its department", **STAFF),
    ("POST", "/api/v1/site-grades"): allow(**ADMIN),
    ("POST", "/api/v1/sites/{site_id}/grades/{year}/override"): allow(
        "with a reason, kept in the site's audit trail", **ADMIN),
    ("GET", "/api/v1/site-rules"): allow(**READ_ALL),
    ("POST", "/api/v1/site-scores"): allow(**ADMIN),
    ("POST", "/api/v1/site-visits"): allow(**STAFF),
    ("GET", "/api/v1/site-visits"): allow(**READ_ALL),
    ("POST", "/api/v1/site-visits/{visit_id}/approve"): allow(
        "an exception's approver", **ADMIN),
    ("POST", "/api/v1/site-visits/{visit_id}/notice"): allow(**STAFF),
    ("POST", "/api/v1/site-visits/{visit_id}/done"): allow(**STAFF),
    ("GET", "/api/v1/site-exceptions"): allow("the oversight view", **READ_ALL),
    ("GET", "/api/v1/site-figures"): allow(**READ_ALL),
    # -- live video (api/video): staff and evaluators watch any drone; a ground team watches the
    #    drone at its own task's event; the public task-code page never shows video
    ("GET", "/api/v1/video/drones"): allow(**READ_ALL),
    ("GET", "/api/v1/video/drones/{drone_id}/live"): allow(**READ_ALL),
    ("GET", "/api/v1/events/{event_id}/video/live"): allow(
        "a ground team sees the drone at its own tasks' events", **TEAM_READ),
    ("POST", "/api/v1/events/{event_id}/video/clip"): allow(**STAFF),
    # -- the map the pages draw (zones are the city's published plan)
    ("GET", "/api/v1/map/config"): allow(**READ_ALL, ground_team=ALL, department=ALL),
    ("GET", "/api/v1/map/zones"): allow(**READ_ALL, ground_team=ALL, department=ALL),
}


def rule_for(method: str, path: str) -> Rule | None:
    """The table's entry for a route (its path template, as FastAPI registered it)."""
    return ACCESS.get((method, path))


def roles_for(method: str, path: str) -> frozenset[str]:
    """The roles the table admits to a route (empty for a public or unknown route)."""
    rule = ACCESS.get((method, path))
    return frozenset(rule.roles) if rule else frozenset()


ROLE_ORDER = [Role.OPERATOR, Role.GROUND_TEAM, Role.EVALUATOR, Role.ADMIN, Role.DETECTOR,
              Role.DEPARTMENT]


def render_markdown() -> str:
    """The table as the Markdown page docs/roles.md (a test keeps the file equal to this)."""
    head = ["method", "path", *[r.value for r in ROLE_ORDER], "note"]
    lines = [
        "# Who may read and write what",
        "",
        "Generated from `api/routes/access.py` (the table the service enforces) by",
        "`python -m api.routes.access > docs/roles.md`; `tests/api/test_access_table.py` fails",
        "when this page and the table differ, or when a route has no entry.",
        "",
        "A cell names the scope of what the role sees or changes; an empty cell is 403:",
        "",
        "- *all*: every object the route serves;",
        "- *own team*: a ground team's own tasks, and the events, evidence and codes of those tasks;",
        "- *own department*: a department's own patrol requests and the flights serving them;",
        "- *ack only*: an acknowledgement (an id and what happened), never the stored object;",
        "- *self*: the caller's own account.",
        "",
        "*public* routes need no login; every other route answers 401 without a token.",
        "Inside *own team* and *own department* an object that is not the caller's is answered",
        "404 with the same body as an id that does not exist.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for (method, path), rule in ACCESS.items():
        if rule.public:
            cells = ["*public*"] * len(ROLE_ORDER)
        else:
            cells = [rule.scope_of(r) or "" for r in ROLE_ORDER]
        shown_method = "GET (files)" if method == MOUNT else method
        lines.append("| " + " | ".join([shown_method, f"`{path}`", *cells, rule.note]) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
