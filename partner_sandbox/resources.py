"""Where the spec, the default fixtures and the handlers are: inside the installed wheel, or at the
checkout's root."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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


def public_spec_path() -> Path:
    """The slice of the Public API served under /integrations/api."""
    return resource("public_api.yaml")


def pages_spec_path() -> Path:
    """The routes of the pages behind `qr_link` (web/pages)."""
    return resource("pages.yaml")


def default_fixtures_path() -> Path:
    return resource("fixtures/default.yaml")


HANDLERS = "partner_sandbox.handlers"


def handlers_package() -> ModuleType:
    """The operation handlers, always as `partner_sandbox.handlers`: a wheel carries them there; a
    checkout keeps them at its root (`handlers/`) and they are loaded from that folder under the same
    name. Loaded by location, never by a top-level name, so that a `handlers` package of a partner's
    project (the current directory, sys.path) can never stand in for them."""
    loaded = sys.modules.get(HANDLERS)
    if loaded is not None:
        return loaded
    packaged = _PACKAGE / "handlers" / "__init__.py"
    init = packaged if packaged.is_file() else _CHECKOUT / "handlers" / "__init__.py"
    spec = importlib.util.spec_from_file_location(HANDLERS, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None:
        raise ImportError(f"the handlers package cannot be loaded from {init}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[HANDLERS] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[HANDLERS]
        raise
    return module
