"""The ASGI entry point for uvicorn and other servers: settings from the environment.

Imported once in every server process (each worker imports it), so the process-wide
settings of a server are applied here: the garbage collector's thresholds."""

from appwarden import collector
from appwarden.app import create_app
from appwarden.config import get_settings

settings = get_settings()
collector.tune(settings.gc_thresholds)
app = create_app(settings)
