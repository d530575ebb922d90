"""The partner guide's flow (../python_flow.py) with httpx's sync client, against a running sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import python_flow  # noqa: E402


def connect(base_url: str, headers: dict) -> python_flow.Send:
    client = httpx.Client(base_url=base_url, headers=headers, timeout=30)

    def send(method: str, path: str, *, json=None, headers: dict | None = None) -> httpx.Response:
        return client.request(method, path, json=json, headers=headers)

    return send


if __name__ == "__main__":
    sys.exit(python_flow.main(connect, (httpx.HTTPError,)))
