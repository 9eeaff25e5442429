"""Compliance: what devices report, and per device × determination whether it holds."""
