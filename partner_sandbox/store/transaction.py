"""One open database transaction, on either backend: every port of domain/ports.py and the
server's own records, by resource."""

from __future__ import annotations

from .accounts import AccountRows
from .journal import JournalRows
from .messages import MessageRows
from .outbox import OutboxRows
from .partners import PartnerRows
from .seed import SeedRows


class SqlTransaction(SeedRows, AccountRows, PartnerRows, JournalRows, OutboxRows, MessageRows):
    """The store's side of every rule's ports (mypy checks it wherever one is passed to a rule);
    SeedRows brings the workspace and link rows it seeds with."""
