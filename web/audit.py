"""The auditor's page: the audit trail, newest first, and whether its hash chain holds."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .common import desk, render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, actor: str | None = None, action: str | None = None):
    from archive.core import audit

    here = desk(request)
    rows = audit.entries(here.session, actor=actor or None, action=action or None, limit=200)
    checked = audit.verify(here.session)
    return render(request, "audit.html", {"csrf": here.csrf, "rows": rows, "checked": checked, "actor": actor or "",
                                          "action": action or ""})
