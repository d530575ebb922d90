"""Partner webhooks: the URL rule, and delivery of the outbox's events, signed, with retries."""
