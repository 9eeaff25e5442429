"""The REST API under /api/v1: problem documents, pagination, authentication."""
