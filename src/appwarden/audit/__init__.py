"""The tamper-evident audit log: an append-only chain of events keyed with a secret."""
