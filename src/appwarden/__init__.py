"""AppWarden: vet risky mobile apps, decide on them, enforce the decision, prove it."""

__version__ = "0.1.0"
