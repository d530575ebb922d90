"""The HTTP side: the app factory and its middleware, request validation, routing to handlers,
the fast lane, rate limits, the QR page and the JSON views."""
