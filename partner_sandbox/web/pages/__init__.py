"""The pages behind `qr_link`: the QR pages, the scan, and the embedded page's JSON flow.

The standalone QR page, the embedded page (`display_mode=embedding`) with the pairing flow it drives
(`<link>/flow`), the scan confirmation page and the scan. pages.yaml (at the checkout's root)
writes their routes down and is their route table (routes.py); the handlers are handlers/pages.py;
views.py renders templates/ with the inline assets/ that policy.py allows by hash; flow.py is the
flow's JSON; qrcodes.py draws the codes."""

from .routes import register

__all__ = ["register"]
