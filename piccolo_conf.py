"""Piccolo's configuration: the engine follows OPENDESK_DATABASE_URL via the Settings."""

from api.database import app_registry, engine_from_url
from api.settings import load_settings

_settings = load_settings()

DB = engine_from_url(_settings.database_url, timeout_seconds=_settings.database_timeout_seconds)
APP_REGISTRY = app_registry()
