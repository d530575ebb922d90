"""Where the spec and default fixtures are: inside the installed wheel, or at the checkout's root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def resource(relative: str) -> Path:
    """A wheel carries the top-level files under partner_sandbox/data/; a checkout has them at its root."""
    packaged = _PACKAGE / "data" / relative
    return packaged if packaged.is_file() else _CHECKOUT / relative


def spec_path() -> Path:
    return resource("openapi.yaml")


def control_spec_path() -> Path:
    return resource("sandbox.yaml")


def default_fixtures_path() -> Path:
    return resource("fixtures/default.yaml")
