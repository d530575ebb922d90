"""The fast lane's own checks, compiled from openapi.yaml: its response validator refuses a wrong answer."""

from __future__ import annotations

import pytest

from partner_sandbox.web.fastpath import FastLane
from partner_sandbox.resources import spec_path
from partner_sandbox.spec import SpecDocument

GOOD = {"workspace_id": "w", "user_id": 1, "qr_link": "http://127.0.0.1:8080/qr/abc", "expires_at": "2026-01-01T00:00:00Z",
        "whatsapp_disconnected": False, "previous_qr_revoked": True}


def lane(validate_responses: bool) -> FastLane:
    return FastLane(None, sandbox=None, spec=SpecDocument.load(spec_path()), validate_responses=validate_responses)


@pytest.mark.parametrize("change", [{"user_id": "1"}, {"expires_at": "tomorrow"}, {"qr_link": "not a url"},
                                    {"previous_qr_revoked": None}])
def test_the_response_validator_refuses_wrong_answers_formats_included(change):
    validator = lane(True).response_validator
    assert validator.is_valid(GOOD)
    assert not validator.is_valid({**GOOD, **change})
    missing = dict(GOOD)
    del missing["qr_link"]
    assert not validator.is_valid(missing)


def test_no_response_validator_when_turned_off():
    assert lane(False).response_validator is None
