"""Handler for the `dashboard` tag of pages.yaml: the dashboard at /, a starlette endpoint routed by
web/pages/routes.py. The page is static; its script reads and acts through the APIs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from partner_sandbox.web.pages import views


async def get_dashboard(request: Request) -> Response:
    return views.dashboard_page()
