"""The partner guide's flow (../python_flow.py) with requests (a Session), against a running sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import python_flow  # noqa: E402

TIMEOUT = 30  # seconds


def connect(base_url: str, headers: dict) -> python_flow.Send:
    session = requests.Session()
    session.headers.update(headers)

    def send(method: str, path: str, *, json=None, headers: dict | None = None) -> requests.Response:
        return session.request(method, base_url + path, json=json, headers=headers, timeout=TIMEOUT)

    return send


if __name__ == "__main__":
    sys.exit(python_flow.main(connect, (requests.RequestException,)))
