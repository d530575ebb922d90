"""Handlers for the `pages` tag of pages.yaml: starlette endpoints, routed by web/pages/routes.py.

A request in, a response out (connexion does not route them); thin calls into the sandbox's
services, answered as pages (web/pages/views.py) or as the flow's JSON (web/pages/flow.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from partner_sandbox.domain.links import LinkGone
from partner_sandbox.errors import ApiError
from partner_sandbox.web.pages import flow, views


async def get_link_page(request: Request) -> Response:
    """The link's page; with `?display_mode=embedding`, the embedded mode (a dead link's 410 too)."""
    sandbox, token = request.state.sandbox, request.path_params["token"]
    found = sandbox.link_page(token)
    if found is None:
        return views.not_found_page()
    embedded = request.query_params.get("display_mode") == "embedding"
    state = found.link.state(found.now)
    if state != "active":
        return views.gone_page(found.link, state, found.embedding_origins if embedded else None)
    if embedded:
        return views.embedded_page(found)
    return views.link_page(found, token, sandbox.scan_url(token))


async def get_scan_confirmation(request: Request) -> Response:
    """What the QR code opens: a page whose form posts the scan."""
    found = request.state.sandbox.link_page(request.path_params["token"])
    if found is None:
        return views.not_found_page()
    state = found.link.state(found.now)
    if state != "active":
        return views.gone_page(found.link, state)
    return views.confirm_page(found.link)


async def scan_link(request: Request) -> Response:
    """The scan: of the link itself, or with `?qr=` of the image it names (a rotated one fails)."""
    try:
        attempt = request.state.sandbox.scan_token(request.path_params["token"], request.query_params.get("qr"))
    except LinkGone as gone:
        return views.gone_page(gone.link, gone.state)
    except ApiError:
        return views.not_found_page()
    link = attempt.view.link
    if attempt.failure is not None:
        return views.failed_page(link, attempt.failure)
    return views.connected_page(link, attempt.account)


async def get_link_flow(request: Request) -> Response:
    """How the flow stands (the embedded page polls it)."""
    return await flow.answer(request, lambda sandbox, token, _body: sandbox.link_flow(token))


async def start_qr_flow(request: Request) -> Response:
    """Start (or restart) the QR flow: a new series of rotating images."""
    return await flow.answer(request, lambda sandbox, token, _body: sandbox.start_qr(token))


async def request_pairing_code(request: Request) -> Response:
    """Ask for a pairing code for `phone`; an invalid number is the flow's error, not the request's."""
    return await flow.answer(
        request, lambda sandbox, token, body: sandbox.request_pairing_code(token, flow.string(body, "phone")))


async def scan_qr_image(request: Request) -> Response:
    """The page's Simulate scan: a scan of the image `qr` names (a rotated one is the flow's error)."""
    return await flow.answer(
        request, lambda sandbox, token, body: sandbox.scan_token(token, flow.string(body, "qr")).view)
