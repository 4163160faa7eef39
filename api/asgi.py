"""ASGI entry point for the server processes (each worker builds its own app)."""

from __future__ import annotations

from api.app import OpenDeskApp, create_app
from api.settings import load_settings


def create_app_from_environment() -> OpenDeskApp:
    return create_app(load_settings())
