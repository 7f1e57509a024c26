"""For the demo and its tests: open a ground-team task's public page (亮码) as a stranger would."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from api.enforcement.taskcodes import public_url


class PublicPageError(RuntimeError):
    """The public page of a task did not open as it should; the message says how."""


def check_public_page(client: httpx.Client, code: str, *, team_name: str) -> str:
    """Open the public page of `code` through `client` (whose base URL is the service) and return
    its URL; PublicPageError unless it answers 200 with `team_name` on it."""
    url = public_url(str(client.base_url), code)
    response = client.get(url)
    if response.status_code != 200:
        raise PublicPageError(f"{url} answered {response.status_code}, not 200")
    if team_name not in response.text:
        raise PublicPageError(f"{url} does not name the team {team_name!r}")
    return url


@dataclass
class OpenedPage:
    task_id: int
    team: str
    url: str


def open_a_team_task_page(client: httpx.Client, headers: dict[str, str]) -> OpenedPage:
    """For the demo: the newest ground-team task's public page, opened through `client` as a
    stranger would and checked to name the team; `headers` are a staff login's (to list tasks).
    PublicPageError when there is no team task yet or the page does not open."""
    tasks = client.get("/api/v1/tasks", headers=headers)
    tasks.raise_for_status()
    team_tasks = [t for t in tasks.json() if t["team_id"] and t["code"]]
    if not team_tasks:
        raise PublicPageError("no ground-team task yet: a task code needs a team to be tasked first")
    task = team_tasks[0]  # newest first
    teams = client.get("/api/v1/teams", headers=headers)
    teams.raise_for_status()
    name = next(t["name"] for t in teams.json() if t["id"] == task["team_id"])
    # Opened without the staff login: the page is public.
    url = check_public_page(client, task["code"], team_name=name)
    return OpenedPage(task_id=task["id"], team=name, url=url)
