"""Core services: libraries, staff accounts, job records, the audit trail and the staff overview."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from ils.extensions import db


def page_of(stmt: Select, *, page: int, page_size: int) -> tuple[list[Any], int]:
    """One page of a select (newest-first order already applied) and the total count."""
    pagination = db.paginate(stmt, page=max(page, 1), per_page=page_size, error_out=False)
    return list(pagination.items), pagination.total or 0
