"""Who a request comes from, one rule for connexion's security layer (security_map) and the pipeline:
the partner's JWT beside `X-TL-Partner-Id`, then the partner's rate limit; or, for a bearer scheme
marked `x-sandbox-credential: public-api-token`, the workspace's Public API token, read from the store
on each call, which counts it. Both give what connexion calls `token_info`."""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest
from connexion.security import BearerSecurityHandler

from ..offload import off_loop
from ..services.sandbox import Sandbox

PUBLIC_API_CREDENTIAL = "public-api-token"


def credential(scheme: dict) -> str:
    """The kind of a bearer scheme's credential: "public" (a workspace's token) or "partner" (a JWT)."""
    return "public" if scheme.get("x-sandbox-credential") == PUBLIC_API_CREDENTIAL else "partner"


def verified(sandbox: Sandbox, kind: str, authorization: str | None, partner_header: str | None) -> dict:
    """The caller of verified credentials; an ApiError when they do not verify (and then nothing was
    counted)."""
    if kind == "public":
        caller = sandbox.public_api_caller(authorization)
        return {"workspace_id": caller.workspace_id, "partner_id": caller.partner_id}
    return {"partner_id": sandbox.authenticator.authenticate(authorization, partner_header)}


def admit(sandbox: Sandbox, kind: str, token_info: dict) -> None:
    """The partner's rate limit, which counts authenticated partners' requests: the 429 when over it."""
    if kind == "partner":
        sandbox.limiter.check(token_info["partner_id"])


def security_map(sandbox: Sandbox) -> dict:
    """connexion's bearer scheme, checked as above (off the event loop on a networked store)."""

    class SandboxBearerHandler(BearerSecurityHandler):
        def get_fn(self, security_scheme, required_scopes):
            kind = credential(security_scheme)

            async def verify(request: ConnexionRequest) -> dict:
                token_info = await off_loop(sandbox.store, verified, sandbox, kind, request.headers.get("Authorization"),
                                            request.headers.get("X-TL-Partner-Id"))
                await off_loop(sandbox.limiter, admit, sandbox, kind, token_info)
                return token_info

            return verify

    return {"bearer": SandboxBearerHandler}
