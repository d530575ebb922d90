"""A webhook receiver on loopback that verifies every delivery: its signature with pyjwt (the
partner's secret), its body against webhooks.yaml and the published contract's required fields."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import jwt
import yaml

from tests.helpers import ROOT, SECRETS, free_port

SPEC = yaml.safe_load((ROOT / "webhooks.yaml").read_text())


def event_validator(event_type: str) -> jsonschema.Draft202012Validator:
    """The validator of an event's body: the schema webhooks.yaml gives the event of that name."""
    schema = SPEC["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]},
                                           format_checker=jsonschema.FormatChecker())


# The published contract's required fields of each event, carried as data (the published file is not
# the project's to read): every delivered body has them, whatever webhooks.yaml says.
PUBLISHED_REQUIRED = {
    "workspace:seats_full": {"seats_purchased", "seats_available"},
    "workspace:quota_near_full:messaging": {"messaging_quota_total", "messaging_quota_used", "current_period_start",
                                            "current_period_end"},
    "workspace:quota_full:messaging": {"messaging_quota_total", "messaging_quota_used", "current_period_start",
                                       "current_period_end"},
    "workspace:quota_full:transactions": {"current_period_start", "current_period_end"},
    "workspace:quota_full:api_calls": {"api_calls_limit", "api_calls_used", "current_period_start", "current_period_end"},
    "whatsapp_account:connected": {"whatsapp_account_id", "phone_number_e164", "user_id"},
    "whatsapp_account:disconnected": {"whatsapp_account_id", "phone_number_e164", "user_id"},
    "api_token:rotated": {"rotated_at"},
}
COMMON = {"workspace_id", "partner_id", "event_type", "triggered_at"}


class Receiver:
    """A webhook receiver on a loopback port; `fail_first` answers 500 to that many attempts."""

    def __init__(self, port: int | None = None, fail_first: int = 0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.fail_first = fail_first
        self.attempts: list[dict] = []
        self.events: list[dict] = []  # accepted deliveries, verified
        self.problems: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts.append({"event_id": self.headers["X-TL-Event-Id"],
                                          "signature": self.headers["X-TL-Signature"]})
                if len(receiver.attempts) <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                try:
                    partner = self.headers["X-TL-Partner-Id"]
                    claims = jwt.decode(self.headers["X-TL-Signature"], SECRETS[partner], algorithms=["HS256"],
                                        options={"require": ["partner_id", "nbf", "exp"]})
                    assert claims["partner_id"] == partner
                    event = json.loads(body)
                    event_validator(event["event_type"]).validate(event)
                    missing = (COMMON | PUBLISHED_REQUIRED[event["event_type"]]) - set(event)
                    assert not missing, f"{event['event_type']} lacks {missing}"
                    assert event["partner_id"] == partner
                    receiver.events.append({"id": self.headers["X-TL-Event-Id"], **event})
                except Exception as exc:  # noqa: BLE001 (reported to the test)
                    receiver.problems.append(repr(exc))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.problems == []
        return self.events
