"""The one failure a store reports: it cannot be used now (a 503 in the error vocabulary)."""

from __future__ import annotations

import logging

from ..errors import ApiError

log = logging.getLogger("partner_sandbox.store")


class StoreUnavailable(ApiError):
    """The database cannot be read or written now; the transaction rolled back."""

    def __init__(self, description: str):
        super().__init__("service_unavailable", description, headers={"Retry-After": "1"})


def unavailable(exc: Exception) -> StoreUnavailable:
    log.error("store unavailable: %s", exc)
    return StoreUnavailable("The sandbox cannot write its database now; retry shortly")
