"""The app factory: builds the connexion app for one Settings object, with its store and services."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from functools import partial

from connexion import AsyncApp
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from ..offload import StoreCalls, bound_threads, off_loop
from ..bootstrap import build_sandbox, configure_logging
from ..redaction import redact_secrets
from ..resources import control_spec_path, public_spec_path, spec_path
from ..services.ratelimit import SharedRateLimiter
from ..services.sandbox import Sandbox
from ..settings import Settings, process_settings
from ..spec import SpecDocument
from ..webhooks.delivery import Deliverer
from . import pages
from .pipeline import Pipeline
from .forced import ForcedResponses
from .guard import Guard
from .journal import RequestJournal
from .client import ClientAddress
from .errors import ERROR_HANDLERS
from .routing import BoundedRouting, TagResolver
from .security import security_map
from .served_spec import WrittenSpecSwaggerUI
from .validation import CompiledSchemas, validator_map
from .versioning import ApiVersion, VersionRule


def worker_app() -> ASGIApp:
    """The app factory uvicorn calls in each worker process of `serve --workers N`."""
    settings = process_settings()
    configure_logging(settings.log_level)
    return create_app(settings, build_sandbox(settings, seed=False))


def create_app(settings: Settings, sandbox: Sandbox | None = None) -> ASGIApp:
    """The whole server: one connexion app whose middleware list (`middleware`) is the whole stack."""
    sandbox = sandbox or build_sandbox(settings)
    partner_doc = SpecDocument.load(spec_path())
    control_doc = SpecDocument.load(control_spec_path())
    public_doc = SpecDocument.load(public_spec_path())
    app = AsyncApp(
        __name__,
        specification_dir=spec_path().parent,
        lifespan=_lifespan(settings, sandbox),
        middlewares=middleware(settings, sandbox, partner_doc, control_doc, public_doc),
        security_map=security_map(sandbox),
        validator_map=validator_map(CompiledSchemas()),
        resolver=TagResolver(),
    )
    for document in (partner_doc, control_doc, public_doc):  # parsed once, by libyaml, for us and for connexion
        app.add_api(copy.deepcopy(document.raw), validate_responses=settings.validate_responses)
    # A path that matches nothing is the 404 envelope, not a redirect to the same path with a slash
    # (the app's own router: connexion's routing and Swagger UI middleware are set so in theirs).
    app._middleware_app.router.redirect_slashes = False
    for error_type, handler in ERROR_HANDLERS:
        app.add_error_handler(error_type, handler)
    pages.register(app)  # pages.yaml's routes, beside connexion's APIs

    async def healthz(request):
        store = request.state.sandbox.store
        await off_loop(store, store.ping)
        return JSONResponse({"status": "ok"})

    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    return app


def middleware(settings: Settings, sandbox: Sandbox, partner_doc: SpecDocument, control_doc: SpecDocument,
               public_doc: SpecDocument | None = None) -> list:
    """Every layer a request passes, outermost first: ours, and connexion's own in their places."""
    policy = settings.rate_policy
    ip_limiter = SharedRateLimiter(sandbox.store, policy.rate, policy.capacity) if policy.per == "ip" else None
    ui_paths = tuple(doc.base_path + "/ui" for doc in (partner_doc, control_doc, public_doc) if doc is not None)
    calls = StoreCalls(sandbox.store)  # the pipeline's and the journal's store calls, group-committed on SQLite
    return [
        # request ids, security headers, size limits, chunked bodies read whole, the per-IP rate
        # limit, the envelope for a fault of our own, the access log
        partial(Guard, api_prefix=partner_doc.base_path, ip_limiter=ip_limiter, ui_paths=ui_paths,
                client_address=ClientAddress(settings.trusted_proxies)),
        # each authenticated Partner API request, kept per partner for the control API
        partial(RequestJournal, prefix=partner_doc.base_path, record=sandbox.record_requests, redact=redact_secrets,
                authenticate=sandbox.authenticator.authenticate, calls=calls),
        # every operation of the specs, compiled from them: a request that passes every check is
        # answered here; any other goes on to connexion's layers below, which make every refusal
        partial(Pipeline, sandbox=sandbox, specs=[doc for doc in (partner_doc, control_doc, public_doc) if doc],
                validate_responses=settings.validate_responses, version=VersionRule(partner_doc.base_path),
                calls=calls),
        ServerErrorMiddleware,
        ExceptionMiddleware,  # ERROR_HANDLERS: every error the envelope
        WrittenSpecSwaggerUI,  # the specs served as written
        BoundedRouting,  # integers in paths that never reach int() when too long to be one
        SecurityMiddleware,  # the partner's JWT (security_map), then its rate limit
        partial(ForcedResponses, specs=[partner_doc]),  # `Prefer: code=..., example=..., delay=...`
        RequestValidationMiddleware,  # validator_map: compiled schemas, the spec's defaults
        ResponseValidationMiddleware,
        LifespanMiddleware,
        partial(ApiVersion, base_path=partner_doc.base_path),  # X-TL-API-Version on successes
        ContextMiddleware,
    ]


def _lifespan(settings: Settings, sandbox: Sandbox):
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
        bound_threads(sandbox.store)
        delivering = asyncio.create_task(deliverer.run())
        try:
            yield {"sandbox": sandbox}
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            sandbox.store.close()

    return lifespan
