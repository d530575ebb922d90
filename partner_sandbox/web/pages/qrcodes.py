"""QR codes as the pages draw them (segno): inline SVG, and data: URLs for the embedded page's flow.

The data: URL is what the flow sends and the protocol passes on to the partner's page."""

from __future__ import annotations

import base64
import functools
import io

import segno


def qr_svg(data: str) -> str:
    """A real, scannable QR code as inline SVG."""
    return segno.make_qr(data, error="m").svg_inline(scale=6, border=4, dark="#000", light="#fff")


@functools.lru_cache(maxsize=256)  # the page asks twice a second; an image is the same until it rotates
def qr_data_url(data: str) -> str:
    """A real QR code as the protocol sends it: an SVG document (quiet zone and scale included) in a
    `data:image/svg+xml;base64,` URL, ready for an <img>."""
    out = io.BytesIO()
    segno.make_qr(data, error="m").save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff", xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
