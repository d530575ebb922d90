"""The use cases of a QR link's pages: what a page shows, and its pairing flow (QR, phone, scan)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from ..domain import links, pairing
from ..domain.clock import partner_now
from ..domain.model import LinkRecord
from .base import Services


class LinkPage(NamedTuple):
    link: LinkRecord
    now: datetime  # the partner's
    embedding_origins: list[str]  # the pages that may frame it
    error_seq: int  # errors of its flow so far: the embedded page reports only later ones


class LinkPages(Services):
    def link_page(self, token: str) -> LinkPage | None:
        """What a page of the link shows; None for an unknown token."""
        with self.store.transaction() as tx:
            link = links.link_for_token(tx, token)
            if link is None:
                return None
            return LinkPage(link, partner_now(tx, link.partner_id, self.clock()),
                            tx.embedding_origins(link.partner_id), tx.link_flow(link.id).error_seq)

    def link_flow(self, token: str) -> pairing.FlowView:
        with self.store.transaction() as tx:
            return pairing.flow_view(tx, token, self.clock(), self.rotation)

    def start_qr(self, token: str) -> pairing.FlowView:
        with self.store.transaction() as tx:
            return pairing.start_qr(tx, token, self.clock(), self.rotation, self.new_token)

    def request_pairing_code(self, token: str, phone: str) -> pairing.FlowView:
        with self.store.transaction() as tx:
            return pairing.request_pairing_code(tx, token, phone, self.clock(), self.rotation, self.new_pairing_code)

    def scan_token(self, token: str, ref: str | None) -> pairing.Attempt:
        """A scan through the link's pages (a failure is in the answer); LinkGone for a dead link."""
        with self.store.transaction() as tx:
            return pairing.scan_token(tx, token, ref, self.clock(), self.rotation)
