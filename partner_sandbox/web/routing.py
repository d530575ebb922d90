"""operationIds stay the published ones; each resolves to a handler by convention: the function named
as the operationId in snake_case, in the handlers module of the operation's first tag
(`userRequestQRLink`, tag `qr` -> `partner_sandbox.handlers.qr.user_request_qr_link`; the checkout
keeps the handlers at its root, see resources.handlers_package). The one rule for the server (a
connexion Resolver) and for `partner-sandbox lint`."""

from __future__ import annotations

import re

import starlette.convertors
from connexion.frameworks.starlette import IntegerConverter
from connexion.middleware.routing import RoutingMiddleware
from connexion.resolver import Resolution, Resolver

from ..resources import HANDLERS, handlers_package
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """`userRequestQRLink` -> `user_request_qr_link`, `whatsappAccounts` -> `whatsapp_accounts`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def handler_name(operation_id: str, tags: list[str]) -> str:
    """The dotted name of an operation's handler function."""
    if not tags:
        raise ValueError(f"operation {operation_id} has no tag to name its handler module")
    handlers_package()  # importable by its name from here on
    return f"{HANDLERS}.{snake_case(tags[0])}.{snake_case(operation_id)}"


class TagResolver(Resolver):
    """connexion's Resolver with the convention above; the operationId itself is left as written."""

    def resolve(self, operation):
        operation_id = operation.operation_id
        tags = operation._operation.get("tags", [])  # connexion keeps the operation's object, unexposed
        return Resolution(self.resolve_function_from_operation_id(handler_name(operation_id, tags)), operation_id)


class BoundedIntegerConverter(IntegerConverter):
    """A path's integer, as connexion's converter reads it, but one too long to be any integer the
    API takes stays text, for validation to refuse (400) instead of Python's int() raising (it
    converts at most 4,300 digits) on the way to the route."""

    MAX_DIGITS = 64

    def convert(self, value: str):
        return super().convert(value) if len(value) <= self.MAX_DIGITS else value


class BoundedRouting(RoutingMiddleware):
    """connexion's routing middleware with the integer converter above (connexion registers its own
    when this middleware is built, just before its routes are compiled), and no redirects: a path
    that matches no operation, `/workspaces/` with its slash or `/workspaces//users` included, is
    the 404 envelope, not a 307 to a path that may not exist either."""

    def __init__(self, app) -> None:
        super().__init__(app)
        starlette.convertors.register_url_convertor("int", BoundedIntegerConverter())
        self.router.redirect_slashes = False

    def add_api(self, *args, **kwargs) -> None:
        super().add_api(*args, **kwargs)
        for route in self.router.routes:
            route.app.redirect_slashes = False


def handler_function(operation_id: str, tags: list[str]):
    """The handler function itself, as the TagResolver resolves it for connexion."""
    from connexion.utils import get_function_from_name

    return get_function_from_name(handler_name(operation_id, tags))
