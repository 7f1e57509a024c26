"""Bounded request parameters shared by the routes.

Ids are 64-bit in the database (SQLite's INTEGER, PostgreSQL's BIGINT): a path id past 2^63 - 1
used to reach the driver and fail there as a 500. The bound is in the schema, so clients read it
and such a request is a 422 that names the parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from api.core.schemas import DB_INT_MAX

Id = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="A stored id, 1 to 2^63 - 1.")]
Offset = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="Items to skip.")]
