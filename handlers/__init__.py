"""Connexion operation handlers, one module per tag: openapi.yaml's and sandbox.yaml's operations, and
pages.yaml's (the QR pages, routed from that spec beside connexion)."""
