"""The ASGI entry point for uvicorn and other servers: settings from the environment."""

from appwarden.app import create_app
from appwarden.config import get_settings

app = create_app(get_settings())
