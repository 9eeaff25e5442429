"""Exports of the determinations in force for one device group, in the formats other
systems read: an Apple configuration profile, an Android Management API policy, Microsoft
Intune Graph requests, and network blocks (DNS RPZ, hosts, a domain list).

The builders are pure functions over :class:`~appwarden.exports.model.ScopeLists`;
:mod:`appwarden.exports.service` loads those from the database.
"""
