"""Partner authentication: the HS256 JWT check of the published partner guide, and token minting."""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from collections.abc import Mapping

import jwt

from .errors import ApiError, AuthError

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("partner_id", "nbf", "exp")
LEEWAY_SECONDS = 30  # clock skew tolerated on nbf and exp; documented in openapi.yaml
# A webhook's X-TL-Signature has the published shape of an API token (HS256 with the partner's
# secret; partner_id, nbf, exp), so whoever receives a webhook holds something that looks like one.
# The sandbox marks its signatures with this claim (receivers ignore claims they do not check) and
# never accepts a token carrying it as credentials.
USE_CLAIM, SIGNATURE_USE = "tl_use", "webhook_signature"
VERIFIED_CACHE_SIZE = 10_000
SIGN_IN_TTL_SECONDS = 3600  # a token from POST /sandbox/v1/tokens (the dashboard's sign-in) lives an hour
MAX_TIME = 2**53  # seconds: any nbf or exp past this is no time a clock reaches (and no float holds it exactly)


@dataclass(frozen=True)
class Partner:
    id: str
    secret: str
    active: bool = True


class Authenticator:
    """Checks `Authorization: Bearer <JWT>` against `X-TL-Partner-Id`; returns the partner id."""

    def __init__(self, partners: Mapping[str, Partner], *, leeway: int = LEEWAY_SECONDS,
                 cache_size: int = VERIFIED_CACHE_SIZE):
        # JWT validation always uses the real clock, never a sandbox test clock.
        self._partners = dict(partners)
        self._leeway = leeway
        # (Authorization value, partner header) -> (partner id, exp): a token that verified once is
        # not verified again until it expires. Bounded; the oldest entries go first.
        self._verified: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size

    def partner(self, partner_id: str) -> Partner | None:
        return self._partners.get(partner_id)

    def sign_in(self, partner_id: str, secret: str, *, ttl_seconds: int = SIGN_IN_TTL_SECONDS) -> tuple[str, int]:
        """(a token, its exp) for a partner id and its secret: what the partner's own code would mint.
        401 `invalid_credentials` for an unknown partner or a wrong secret alike (which of the two is
        not said); 403 for a partner that is not active."""
        partner = self._partners.get(partner_id)
        # compared for an unknown partner too (against nothing it could match): the same work either way
        expected = partner.secret if partner is not None else "\0" + secret
        known = hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass"))
        if partner is None or not known:
            raise ApiError("invalid_credentials", "No partner has this id and secret")
        if not partner.active:
            raise ApiError("partner_not_active", f"Partner '{partner_id}' is not active")
        issued = int(time.time())
        return mint_token(partner, ttl_seconds=ttl_seconds, now=issued), issued + ttl_seconds

    def authenticate(self, authorization: str | None, partner_header: str | None) -> str:
        """The partner id of a verified token; 401 for a token that does not verify, 403 for a
        partner that is not active (only a caller who proved to be the partner learns that)."""
        key = (authorization or "", partner_header or "")
        hit = self._verified.get(key)
        if hit is not None and time.time() <= hit[1] + self._leeway:
            partner_id = hit[0]
        else:
            partner_id, expires = self._authenticate(authorization, partner_header)
            with self._cache_lock:  # worker threads (PostgreSQL) and the event loop share the cache
                self._verified[key] = (partner_id, expires)
                while len(self._verified) > self._cache_size:
                    self._verified.popitem(last=False)
        if not self._partners[partner_id].active:
            raise ApiError("partner_not_active", f"Partner '{partner_id}' is not active")
        return partner_id

    def _authenticate(self, authorization: str | None, partner_header: str | None) -> tuple[str, float]:
        token = self._bearer_token(authorization)
        if not partner_header:
            raise AuthError("missing_header", "The X-TL-Partner-Id header is required")
        partner = self._partners.get(partner_header)
        if partner is None:
            raise AuthError("partner_not_found", "X-TL-Partner-Id names no known partner")
        claims = self._verified_claims(token, partner.secret)
        if claims["partner_id"] != partner.id:
            raise AuthError(
                "partner_mismatch", "The token's partner_id claim does not match X-TL-Partner-Id"
            )
        return partner.id, float(claims["exp"])

    @staticmethod
    def _bearer_token(authorization: str | None) -> str:
        if authorization is None or not authorization.strip():
            raise AuthError("missing_header", "The Authorization header is required")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthError("missing_header", "The Authorization header must use the Bearer scheme")
        token = token.strip()
        if not token:
            raise AuthError("missing_header", "The Authorization header must be 'Bearer <JWT>'")
        if " " in token:
            raise AuthError("token_decode_error", "The bearer token is not a well-formed JWT")
        return token

    def _verified_claims(self, token: str, secret: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthError("token_decode_error", "The bearer token is not a well-formed JWT") from None
        if header.get("alg") != ALGORITHM:
            raise AuthError("invalid_signature", f"The token must be signed with {ALGORITHM}")
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_aud": False, "verify_iat": False},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError("missing_claim", f"The token lacks the required '{exc.claim}' claim") from None
        except jwt.ExpiredSignatureError:
            raise AuthError("timestamp_out_of_range", "The token has expired (exp)") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token_not_active", "The token is not yet valid (nbf)") from None
        except jwt.InvalidSignatureError:
            raise AuthError("invalid_signature", "The token signature does not verify") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError("token_decode_error", f"The token is invalid: {exc}") from None
        except (OverflowError, ValueError, TypeError):  # e.g. an exp of 10**400 or 1e999
            raise AuthError("token_decode_error", "The token's nbf or exp is not a usable time") from None
        if not isinstance(claims.get("partner_id"), str):
            raise AuthError("token_decode_error", "The partner_id claim must be a string")
        if not all(isinstance(claims[c], (int, float)) and abs(claims[c]) < MAX_TIME for c in ("nbf", "exp")):
            raise AuthError("token_decode_error", "The token's nbf or exp is not a usable time")
        if claims.get(USE_CLAIM) == SIGNATURE_USE:
            raise AuthError("invalid_signature", "A webhook signature is not an API credential; mint a token")
        return claims


def token_claims(partner_id: str, *, ttl_seconds: int, issued: int, **extra) -> dict:
    """The claims of a token of the guide's shape: nbf a little in the past, exp ttl_seconds ahead."""
    return {"partner_id": partner_id, "nbf": issued - 60, "exp": issued + ttl_seconds, **extra}


def mint_token(partner: Partner, *, ttl_seconds: int = 3600, now: float | None = None, **extra) -> str:
    """A token of the guide's shape, signed with the partner's secret."""
    issued = int(time.time() if now is None else now)
    return jwt.encode(token_claims(partner.id, ttl_seconds=ttl_seconds, issued=issued, **extra), partner.secret,
                      algorithm=ALGORITHM)


def signature_claims(partner_id: str, *, ttl_seconds: int, issued: int) -> dict:
    """What a webhook's X-TL-Signature minted at `issued` (whole seconds) says: shown by the control
    API, which keeps no signature itself (a JWT is never written down)."""
    return token_claims(partner_id, ttl_seconds=ttl_seconds, issued=issued, **{USE_CLAIM: SIGNATURE_USE})


def mint_signature(partner: Partner, *, ttl_seconds: int, now: float | None = None) -> str:
    """A webhook's X-TL-Signature: the published shape, marked so that it never opens the APIs."""
    return mint_token(partner, ttl_seconds=ttl_seconds, now=now, **{USE_CLAIM: SIGNATURE_USE})
