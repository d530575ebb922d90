"""The app factory: builds the connexion app for one Settings object, with its store and services."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.security import BearerSecurityHandler
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from ..auth import Authenticator
from ..bootstrap import build_sandbox, configure_logging
from ..redaction import redact_link_tokens, redact_secrets
from ..errors import MEDIA_TYPE, ApiError, AuthError
from ..resources import control_spec_path, spec_path
from ..services.sandbox import Sandbox
from ..settings import Settings, process_settings
from ..spec import SpecDocument
from ..webhooks.delivery import Deliverer
from . import pages
from .fastpath import FastLane
from .forced import ForcedResponses
from .guard import Guard
from .journal import RequestJournal
from ..domain.ratelimit import RateLimiter
from ..services.ratelimit import SharedRateLimiter
from .client import ClientAddress
from .routing import BoundedRouting, TagResolver
from .served_spec import WrittenSpecSwaggerUI
from .validation import CompiledSchemas, validator_map
from .versioning import ApiVersion

log = logging.getLogger("partner_sandbox")
# connexion's middleware that the sandbox replaces with its own: the specs served as written, and
# integers in paths that never reach int() when too long to be one.
OWN_MIDDLEWARE = {SwaggerUIMiddleware: WrittenSpecSwaggerUI, RoutingMiddleware: BoundedRouting}



def security_map(authenticator: Authenticator, limiter: RateLimiter) -> dict:
    """connexion's bearer scheme, checked by our Authenticator with the partner header beside it,
    then the partner's rate limit."""

    class PartnerBearerHandler(BearerSecurityHandler):
        def get_fn(self, security_scheme, required_scopes):
            def verify(request: ConnexionRequest) -> dict:
                partner_id = authenticator.authenticate(
                    request.headers.get("Authorization"), request.headers.get("X-TL-Partner-Id")
                )
                limiter.check(partner_id)  # rate limits count authenticated partners' requests
                return {"partner_id": partner_id}

            return verify

    return {"bearer": PartnerBearerHandler}


def render(error: ApiError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status,
        body=error.body(),
        content_type=MEDIA_TYPE,
        headers=error.headers,
    )


def _api_error_handler(_request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
    return render(exc)


def _translate(request: ConnexionRequest, status: int, fallback_detail: str) -> ApiError:
    """connexion's and starlette's own errors, in this project's vocabulary."""
    if status == 415:
        ctype = request.headers.get("content-type", "")
        return ApiError("unsupported_media_type", f"Content-Type '{ctype}' is not supported; send application/json")
    if status == 401:
        return AuthError("missing_header", "The Authorization header is required")
    if status == 404:
        return ApiError("not_found", f"No operation matches {request.method} {redact_link_tokens(request.url.path)}")
    if status == 405:
        return ApiError("method_not_allowed", f"{request.method} is not allowed on {redact_link_tokens(request.url.path)}")
    if 400 <= status < 500:
        return ApiError("invalid_request", fallback_detail)
    return ApiError("internal_error", "The sandbox failed to handle the request")


def _connexion_problem_handler(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    if exc.status >= 500:
        log.error("request failed: %s %s", exc.title, exc.detail)
    return render(_translate(request, exc.status, str(exc.detail or exc.title)))


def _http_exception_handler(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
    return render(_translate(request, exc.status_code, str(exc.detail)))


def _unexpected_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.error("unhandled error on %s %s", request.method, redact_link_tokens(request.url.path), exc_info=exc)
    return render(ApiError("internal_error", "The sandbox failed to handle the request"))


def worker_app() -> ASGIApp:
    """The app factory uvicorn calls in each worker process of `serve --workers N`."""
    settings = process_settings()
    configure_logging(settings.log_level)
    return create_app(settings, build_sandbox(settings, seed=False))


def create_app(settings: Settings, sandbox: Sandbox | None = None) -> ASGIApp:
    """The whole server: the guard (ids, headers, limits, access log), the request journal and the
    fast lane around the connexion app."""
    sandbox = sandbox or build_sandbox(settings)
    partner_doc = SpecDocument.load(spec_path())
    app = connexion_app(settings, sandbox, partner_doc)
    lane = FastLane(app, sandbox=sandbox, spec=partner_doc, validate_responses=settings.validate_responses)
    journal = RequestJournal(lane, prefix=partner_doc.base_path, record=sandbox.record_requests, redact=redact_secrets)
    policy = settings.rate_policy
    ip_limiter = SharedRateLimiter(sandbox.store, policy.rate, policy.capacity) if policy.per == "ip" else None
    ui_paths = (partner_doc.base_path + "/ui", SpecDocument.load(control_spec_path()).base_path + "/ui")
    return Guard(journal, api_prefix=partner_doc.base_path, ip_limiter=ip_limiter, ui_paths=ui_paths,
                 client_address=ClientAddress(settings.trusted_proxies))


def connexion_app(settings: Settings, sandbox: Sandbox, partner_doc: SpecDocument) -> AsyncApp:
    @contextlib.asynccontextmanager
    async def lifespan(_app):
        deliverer = Deliverer(
            sandbox.store,
            sandbox.authenticator.partner,  # the partners (and secrets) authentication already holds
            max_attempts=settings.webhook_attempts,
            backoff=settings.webhook_backoff,
            timeout=settings.webhook_timeout,
            allowed_hosts=settings.webhook_host_set,
        )
        delivering = asyncio.create_task(deliverer.run())
        try:
            yield {"sandbox": sandbox}
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            sandbox.store.close()

    partner_api, controls = spec_path(), control_spec_path()
    app = AsyncApp(
        __name__,
        specification_dir=partner_api.parent,
        lifespan=lifespan,
        middlewares=[OWN_MIDDLEWARE.get(m, m) for m in ConnexionMiddleware.default_middlewares],
        security_map=security_map(sandbox.authenticator, sandbox.limiter),
        validator_map=validator_map(CompiledSchemas()),
        resolver=TagResolver(),
    )
    for spec in (partner_api, controls):
        app.add_api(spec.name, validate_responses=settings.validate_responses)
    # A path that matches nothing is the 404 envelope, not a redirect to the same path with a slash
    # (the app's own router: connexion's routing and Swagger UI middleware are set so in theirs).
    app._middleware_app.router.redirect_slashes = False
    app.add_error_handler(ApiError, _api_error_handler)
    app.add_error_handler(ProblemException, _connexion_problem_handler)
    app.add_error_handler(HTTPException, _http_exception_handler)
    app.add_error_handler(Exception, _unexpected_handler)
    app.add_middleware(ForcedResponses, position=MiddlewarePosition.BEFORE_VALIDATION, specs=[partner_doc])
    app.add_middleware(ApiVersion, position=MiddlewarePosition.BEFORE_CONTEXT, base_path=partner_doc.base_path)
    pages.register(app, lambda request: request.state.sandbox)

    async def healthz(request):
        request.state.sandbox.store.ping()
        return JSONResponse({"status": "ok"})

    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    return app
