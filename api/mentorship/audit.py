"""The audit trail, read: `GET /audit` for admins and services (written by api/audit_trail.py)."""
from __future__ import annotations

from sqlalchemy import select

from api.docs import Blueprint
from api.mentorship.schemas import AuditPage, AuditQuery
from api.paging import fetch_page
from shared.models import AuditEntry

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Who changed what in mentorship")


@blp.route("/audit")
@blp.authenticated("admin", "service")
@blp.arguments(AuditQuery, location="query")
@blp.response(200, AuditPage)
def list_audit(query):
    """Audit entries, newest first, optionally of one entity or one row of it; pass `next_before` back as `before`."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if "entity" in query:
        stmt = stmt.where(AuditEntry.entity == query["entity"])
    if "id" in query:
        stmt = stmt.where(AuditEntry.entity_id == query["id"])
    if "before" in query:
        stmt = stmt.where(AuditEntry.id < query["before"])
    entries, more = fetch_page(stmt, query["limit"])
    return {"entries": entries, "next_before": entries[-1].id if more else None}
