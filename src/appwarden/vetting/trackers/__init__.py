"""Tracker definitions (data) and the matcher that finds them in an app."""

from appwarden.vetting.trackers.definitions import (
    DefinitionsError,
    TrackerDefinition,
    TrackerDefinitions,
    load_curated,
    load_definitions_file,
    load_installed,
    parse_definitions,
    to_document,
)
from appwarden.vetting.trackers.matcher import TrackerMatcher

__all__ = [
    "DefinitionsError",
    "TrackerDefinition",
    "TrackerDefinitions",
    "TrackerMatcher",
    "load_curated",
    "load_definitions_file",
    "load_installed",
    "parse_definitions",
    "to_document",
]
