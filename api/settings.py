"""Service settings, read from the environment (prefix IPKG_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IPKG_")

    max_body_bytes: int = 5 * 1024 * 1024
    """Largest accepted request body; larger bodies get 413 without being parsed."""
