"""The pages' routes, from pages.yaml: a starlette route for each of its operations, to its handler.

The handler is the one its operationId names by the rule of every spec here (routing.handler_name:
in the `handlers` module of its first tag). Served beside connexion's APIs, not through them (why:
the description in pages.yaml)."""

from __future__ import annotations

import importlib
from typing import NamedTuple
from collections.abc import Callable

from ...resources import pages_spec_path
from ...spec import SpecDocument
from ..routing import handler_name


class PageRoute(NamedTuple):
    method: str
    path: str
    operation_id: str
    handler: Callable


def page_routes(spec: SpecDocument) -> list[PageRoute]:
    """The spec's operations, each with its handler."""
    found = []
    for _, template, method, op in spec.operations():
        operation_id = op["operationId"]
        module, _, function = handler_name(operation_id, op.get("tags") or []).rpartition(".")
        handler = getattr(importlib.import_module(module), function, None)
        if not callable(handler):
            raise LookupError(f"operationId {operation_id}: no handler {function} in {module}")
        found.append(PageRoute(method.upper(), spec.base_path + template, operation_id, handler))
    return found


def register(app, spec: SpecDocument | None = None) -> None:
    """Add the pages' routes (pages.yaml unless told) to a connexion app."""
    for route in page_routes(spec or SpecDocument.load(pages_spec_path())):
        app.add_url_rule(route.path, route.operation_id, route.handler, methods=[route.method])
