"""The partner sandbox: a stateful, contract-first sandbox of the TimelinesAI Partner API."""

__version__ = "0.1.0"
