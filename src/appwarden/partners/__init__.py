"""Partners' lists: import a partner's ban list as proposals, export ours in the same
format, and compare the two (see docs/partners.md)."""
