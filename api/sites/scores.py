"""External scores and complaints of sites, imported by year (a department's rating 0–100)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from api.core.errors import BadInput
from api.core.models import Site, SiteAudit, SiteScore


def import_scores(session: Session, rows: Iterable, *, actor: str, now: datetime) -> int:
    """Store each (site_ref, year, source, score, complaints); the same (site, year, source)
    again replaces its values. All or nothing: an unknown ref refuses them all. The caller
    commits."""
    rows = list(rows)
    refs = {r.site_ref for r in rows}
    sites = {s.ref: s for s in session.exec(select(Site).where(Site.ref.in_(refs))).all()}
    unknown = sorted(refs - set(sites))
    if unknown:
        raise BadInput(f"nothing imported; unknown site refs: {', '.join(unknown[:20])}")
    for r in rows:
        site = sites[r.site_ref]
        row = session.exec(select(SiteScore).where(
            SiteScore.site_id == site.id, SiteScore.year == r.year,
            SiteScore.source == r.source)).first() or SiteScore(
            site_id=site.id, year=r.year, source=r.source, imported_by=actor, imported_at=now)
        row.score, row.complaints, row.imported_by, row.imported_at = \
            r.score, r.complaints, actor, now
        session.add(row)
        session.add(SiteAudit(site_id=site.id, at=now, actor=actor, action="score imported",
                              reason=f"{r.year} {r.source}: score {r.score}, "
                                     f"{r.complaints} complaint(s)"))
    return len(rows)
