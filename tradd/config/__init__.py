"""Configuration: the typed settings tree and its loader."""

from tradd.config.loader import load_settings, redact_url
from tradd.config.settings import Settings

__all__ = ["Settings", "load_settings", "redact_url"]
