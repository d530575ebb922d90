"""The JWT check, called directly: each failure has its code; the guide's shape passes."""

from __future__ import annotations

import time

import jwt
import pytest

from partner_sandbox.auth import LEEWAY_SECONDS, Authenticator, Partner, mint_token
from partner_sandbox.errors import ApiError, AuthError

P = Partner("p1", "p1-secret-that-is-long-enough-000000")
Q = Partner("p2", "p2-secret-that-is-long-enough-000000")
AUTH = Authenticator({P.id: P, Q.id: Q})


def token(secret=P.secret, alg="HS256", **claims):
    now = int(time.time())
    payload = {"partner_id": "p1", "nbf": now - 180, "exp": now + 180, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm=alg)


def code_of(authorization, partner="p1") -> str:
    with pytest.raises(AuthError) as exc:
        AUTH.authenticate(authorization, partner)
    assert exc.value.status == 401 and exc.value.headers["WWW-Authenticate"].startswith("Bearer ")
    return exc.value.code


def test_the_guide_shape_authenticates():
    assert AUTH.authenticate(f"Bearer {token()}", "p1") == "p1"


def test_minted_tokens_authenticate():
    assert AUTH.authenticate(f"Bearer {mint_token(Q)}", "p2") == "p2"


def test_leeway_is_at_most_a_minute():
    assert 0 < LEEWAY_SECONDS <= 60
    now = int(time.time())
    assert AUTH.authenticate(f"Bearer {token(exp=now - LEEWAY_SECONDS + 5)}", "p1") == "p1"
    assert code_of(f"Bearer {token(exp=now - LEEWAY_SECONDS - 5)}") == "timestamp_out_of_range"
    assert AUTH.authenticate(f"Bearer {token(nbf=now + LEEWAY_SECONDS - 5)}", "p1") == "p1"
    assert code_of(f"Bearer {token(nbf=now + LEEWAY_SECONDS + 5)}") == "token_not_active"


# Made when each test runs: a token made at collection could expire before its test.
@pytest.mark.parametrize(
    "make_authorization, partner, code",
    [
        (lambda: None, "p1", "missing_header"),
        (lambda: "   ", "p1", "missing_header"),
        (lambda: "Token abc", "p1", "missing_header"),
        (lambda: "Bearer ", "p1", "missing_header"),
        (lambda: f"Bearer {token()}", None, "missing_header"),
        (lambda: f"Bearer {token()}", "", "missing_header"),
        (lambda: f"Bearer {token()}", "p3", "partner_not_found"),
        (lambda: f"Bearer {token(secret=Q.secret)}", "p1", "invalid_signature"),
        (lambda: f"Bearer {token(alg='HS512')}", "p1", "invalid_signature"),
        (lambda: f"Bearer {token(partner_id='p2')}", "p1", "partner_mismatch"),
        (lambda: f"Bearer {token(partner_id=12)}", "p1", "token_decode_error"),
        (lambda: f"Bearer {token(nbf=None)}", "p1", "missing_claim"),
        (lambda: f"Bearer {token(exp=None)}", "p1", "missing_claim"),
        (lambda: "Bearer a.b.c", "p1", "token_decode_error"),
    ],
)
def test_failures(make_authorization, partner, code):
    assert code_of(make_authorization(), partner) == code


def test_a_token_for_one_partner_never_authenticates_another():
    assert code_of(f"Bearer {mint_token(Q)}", "p1") == "invalid_signature"


def test_the_challenge_quotes_the_description():
    with pytest.raises(AuthError) as exc:
        AUTH.authenticate("Bearer x", "p1")
    assert exc.value.headers["WWW-Authenticate"] == (
        'Bearer realm="partner-api", error="invalid_token", error_description="The bearer token is not a well-formed JWT"'
    )


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch):
    auth = Authenticator({P.id: P}, cache_size=2)
    now = int(time.time())
    good = f"Bearer {token(nbf=now - 10, exp=now - LEEWAY_SECONDS + 1)}"  # valid for one more second
    assert auth.authenticate(good, "p1") == "p1"
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))
    assert auth.authenticate(good, "p1") == "p1" and decoded == []  # from the cache
    time.sleep(1.5)
    with pytest.raises(AuthError) as exc:
        auth.authenticate(good, "p1")  # past exp + leeway: verified again, and refused
    assert exc.value.code == "timestamp_out_of_range" and decoded == [1]


def test_the_cache_is_keyed_by_token_and_partner_header_and_bounded():
    auth = Authenticator({P.id: P, Q.id: Q}, cache_size=2)
    good = f"Bearer {token()}"
    assert auth.authenticate(good, "p1") == "p1"
    with pytest.raises(AuthError):
        auth.authenticate(good, "p2")  # the same token under another partner's header
    for i in range(3):
        auth.authenticate(f"Bearer {token(exp=int(time.time()) + 100 + i)}", "p1")
    assert len(auth._verified) == 2


def test_an_inactive_partner_is_refused_after_its_token_verifies():
    off = Partner("off", "off-secret-that-is-long-enough-0000000", active=False)
    auth = Authenticator({off.id: off, P.id: P})
    for _ in range(2):  # the second time from the verified-token cache: still refused
        with pytest.raises(ApiError) as exc:
            auth.authenticate(f"Bearer {mint_token(off)}", "off")
        assert (exc.value.code, exc.value.status) == ("partner_not_active", 403)
    with pytest.raises(AuthError) as bad:  # an unproven caller learns nothing of the partner's state
        auth.authenticate(f"Bearer {mint_token(P)}", "off")
    assert bad.value.code == "invalid_signature"
