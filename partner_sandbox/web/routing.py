"""operationIds stay the published ones; each resolves to a handler by convention: the function named
as the operationId in snake_case, in the handlers module of the operation's first tag
(`userRequestQRLink`, tag `qr` -> `partner_sandbox.handlers.qr.user_request_qr_link`; the checkout
keeps the handlers at its root, see resources.handlers_package). The one rule for the server (a
connexion Resolver) and for `partner-sandbox lint`."""

from __future__ import annotations

import re

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
