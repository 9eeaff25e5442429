"""The catalog: publishers (with affiliates and domains), apps, their signers, the app
files uploaded (stored once by SHA-256) and the assessments made of them.

Decisions and waivers refer to these rows; a ban on a publisher covers its affiliates
(:func:`appwarden.catalog.service.family_ids`). See docs/catalog.md.
"""
