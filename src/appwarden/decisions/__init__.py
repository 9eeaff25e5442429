"""Determinations: the decisions (ban, block, allow, monitor), their lifecycle and notices."""
