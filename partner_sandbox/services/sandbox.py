"""The sandbox's services for one app: each call is one store transaction around one domain function."""

from __future__ import annotations

from dataclasses import dataclass

from .controls import Controls
from .pages import LinkPage, LinkPages
from .partner_api import PartnerApi
from .public_api import PublicApi

__all__ = ["LinkPage", "Sandbox"]


@dataclass(frozen=True)
class Sandbox(PartnerApi, LinkPages, Controls, PublicApi):
    """The Partner API's, the pages', the controls' and the Public API's use cases over one store."""
