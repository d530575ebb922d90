"""A small, deliberately wrong implementation of openapi.yaml, for proving that contract-test fails.

`python wrong_server.py PORT MODE`, MODE one of:
  wrong-type   answers user_id as a string
  no-auth      ignores authentication
  boundary     answers 500 when expires_in_hours is 168
Otherwise it behaves: JWT check, 400/401/404/415 error envelopes, 200 with the six fields.
"""

from __future__ import annotations

import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

SECRET = "sandbox-partner-secret-for-local-testing"
ROUTE = re.compile(r"^/partner/api/v1/workspaces/([^/]+)/users/([0-9]+)/qr$")
MODE = sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def error(self, status: int, code: str, extra: dict | None = None):
        body = json.dumps({"error": code, "status": status, "description": code}).encode()
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        match = ROUTE.match(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not match:
            return self.error(404, "not_found")
        if MODE != "no-auth":
            try:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["partner_id", "nbf", "exp"]})
                assert claims["partner_id"] == self.headers.get("X-TL-Partner-Id")
            except Exception:  # noqa: BLE001
                return self.error(401, "invalid_signature", {"WWW-Authenticate": "Bearer"})
        ctype = self.headers.get("Content-Type")
        if raw and ctype and not ctype.startswith("application/json"):
            return self.error(415, "unsupported_media_type")
        try:
            body = json.loads(raw) if raw else {}
            assert isinstance(body, dict)
            hours = body.get("expires_in_hours", 24)
            assert isinstance(hours, int) and not isinstance(hours, bool) and 1 <= hours <= 168
            user_id = int(match[2])
            assert user_id < 2**63
        except Exception:  # noqa: BLE001
            return self.error(400, "invalid_request")
        if MODE == "boundary" and hours == 168:
            return self.error(500, "internal_error")
        answer = {"workspace_id": match[1], "user_id": str(user_id) if MODE == "wrong-type" else user_id,
                  "qr_link": "http://127.0.0.1/qr/abc", "expires_at": "2030-01-01T00:00:00Z",
                  "whatsapp_disconnected": False, "previous_qr_revoked": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-TL-API-Version", "v1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
