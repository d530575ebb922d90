"""The sandbox's rules, by resource, as functions of a store transaction (through small ports),
a clock and a token source: no HTTP, no SQL."""
