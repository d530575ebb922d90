"""The embedded page's flow over JSON: its answer, the bodies its steps take, and its errors.

Bodies are JSON objects declared so (415 for any other type); errors are the envelope; all of it
under FLOW_HEADERS."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...domain import pairing
from ...domain.links import LinkGone
from ...errors import ApiError
from .. import errors
from ..validation import json_object
from .policy import FLOW_HEADERS
from .qrcodes import qr_data_url

# A step of the flow: (the app's services, the link's token, the request's JSON body) -> the flow after it.
Step = Callable[..., pairing.FlowView]


async def answer(request: Request, step: Step) -> Response:
    """The flow after `step`, or the error envelope (a POST's body is read and checked first)."""
    sandbox, token = request.state.sandbox, request.path_params["token"]
    try:
        body = await json_body(request) if request.method == "POST" else {}
        view = step(sandbox, token, body)
    except LinkGone as gone:
        return error_response(ApiError("no_active_link", f"This QR link is {gone.state}"))
    except ApiError as error:
        return error_response(error)
    return JSONResponse(flow_json(view, sandbox.scan_url(token)), headers=FLOW_HEADERS)


def error_response(error: ApiError) -> Response:
    return errors.response(error, FLOW_HEADERS)


def flow_json(view: pairing.FlowView, scan_url: str) -> dict:
    """The flow as the embedded page's script reads it (pages.yaml, `Flow`)."""
    flow, now = view.flow, view.now
    out = {
        "link": view.state,
        "error": {"id": flow.error_seq, "message": flow.error} if flow.error else None,
        "qr": None,
        "pairing": None,
    }
    if view.qr is not None:
        out["qr"] = {
            "rotation": view.qr.rotation,
            "ref": view.qr.ref,
            "image": qr_data_url(f"{scan_url}?qr={view.qr.ref}"),
            "rotates_in_ms": max(0, int((view.qr.rotates_at - now).total_seconds() * 1000)),
        }
    elif view.qr_timed_out:
        out["qr"] = {"timed_out": True}
    if view.state == "active" and flow.pairing_code is not None and flow.pairing_expires_at is not None:
        out["pairing"] = {
            "code": flow.pairing_code,
            "phone": flow.pairing_phone,
            "expires_in_ms": max(0, int((flow.pairing_expires_at - now).total_seconds() * 1000)),
        }
    return out


async def json_body(request: Request) -> dict:
    """The body of a flow step: JSON, as the page's script sends it (a body of another type, a form
    or text/plain, is what a page of another site could send without asking: 415)."""
    media = request.headers.get("content-type")
    raw = await request.body()
    if (media is not None or raw) and (media or "").split(";")[0].strip() != "application/json":
        raise ApiError("unsupported_media_type", f"Content-Type '{media or ''}' is not supported; send application/json")
    return json_object(raw)


def string(body: dict, name: str) -> str:
    """A field of a step's body that must be a string."""
    if not isinstance(body.get(name), str):
        raise ApiError("invalid_request", f"{name}: a string is required")
    return body[name]
