"""The regulated-sites section of the closed-loop report: the year's figures as a table, and
as JSON embedded in the page (`<script type="application/json" id="site-figures">`), so a
reader of the archived report can take the numbers out without scraping the table."""

from __future__ import annotations

import html
import json

from sqlmodel import Session

from api.evaluation.report import Section
from api.sites.figures import figures


def load(session: Session, year: int, *, tz: str) -> dict:
    """The sites' figures for `year` (see `api.sites.figures`)."""
    return figures(session, year, tz=tz)


def report_section(fig: dict) -> Section:
    """A report section showing `fig` (the dict of `api.sites.figures.figures`)."""
    rows = "".join(
        f"<tr><td>{g['grade']}</td><td>{g['sites']}</td><td>{g['visits']}</td>"
        f"<td>{'no cap' if g['cap_total'] is None else g['cap_total']}</td>"
        f"<td>{g['sites_at_cap']}</td><td>{g['exception_visits']}</td></tr>"
        for g in fig["per_grade"])
    share = "—" if fig["share_non_site"] is None else f"{fig['share_non_site']:.0%}"
    body = (
        f"<p>{fig['year']}: {fig['site_visits']} site visits, {fig['non_site_looks']} non-site "
        f"looks ({share} of inspections non-site), {fig['visits_avoided']} site visits avoided "
        f"by looks that found nothing. Of {fig['cd_sites_last_year']} sites graded C or D the "
        f"year before: {fig['cd_moved_up']} moved up, {fig['cd_same']} kept their grade, "
        f"{fig['cd_moved_down']} moved down, {fig['cd_ungraded']} not graded.</p>"
        "<table id='site-grades'><tr><th>grade</th><th>sites</th><th>site visits</th>"
        f"<th>cap</th><th>sites at cap</th><th>on an exception</th></tr>{rows}</table>"
        "<script type='application/json' id='site-figures'>"
        f"{html.escape(json.dumps(fig, ensure_ascii=False), quote=False)}</script>")
    return Section("Regulated sites", body_html=body)
