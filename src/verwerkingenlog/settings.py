"""One place for configuration: environment variables, each documented here (and in docs/configuration.md)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/verwerkingenlog.db"
# The register's own processing activity for reading the log (§10.5); configure the UUID of your VAR entry.
DEFAULT_SELF_LOG_ACTIVITY = "3c1f0b1e-6d0a-4e55-9b5e-0a3f7c9d2b11"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. `sqlite:///path` (embedded default) or `postgresql://user@host/db`.",
    )
    public_base_url: str | None = Field(
        None,
        description="Public URL of the API root (e.g. https://log.gemeente.nl/api/v1) used in `url` fields. "
        "Default: derived from each request.",
    )
    time_zone: str = Field(
        "Europe/Amsterdam", description="Zone in which `beginDatum`/`eindDatum` dates start (R-GETL-2)."
    )
    jwt_max_age_seconds: int = Field(3600, description="Tokens whose `iat` is older than this are refused.")
    jwt_leeway_seconds: int = Field(60, description="Clock skew tolerated on `iat` and `exp`.")
    max_body_bytes: int = Field(1_048_576, description="Request bodies larger than this get 413.")
    self_logging: bool = Field(
        True,
        description="Log every read of the log as a processing (§10.5). Switching off is reported at start.",
    )
    self_log_verwerkingsactiviteit_id: str = Field(
        DEFAULT_SELF_LOG_ACTIVITY, description="`verwerkingsactiviteitId` of the register's own reads."
    )
    self_log_verwerkingsactiviteit_url: str | None = Field(
        None,
        description="`verwerkingsactiviteitUrl` of the register's own reads (default: its VAR URL here).",
    )
    self_log_bewaartermijn: str = Field(
        "P2Y", description="Retention of self-log entries when the caller sends no `Bewaartermijn` header."
    )
    inzage_headers_required: bool = Field(
        True,
        description="Require OIN, VerwerkingsactiviteitId and VerwerkingsactiviteitUrl on Inzage calls (R-INZ-8). "
        "Set to false only in test environments.",
    )
    pseudonymisation_key: str | None = Field(
        None,
        description="Secret (at least 32 characters) from which the BSN blind-index and encryption keys are "
        "derived (R-PRIV-1). Default: a key file created in the data directory.",
    )
    key_file: Path = Field(
        Path("./data/pseudonymisation.key"), description="Key file used when PSEUDONYMISATION_KEY is unset."
    )
    migrate_on_start: bool = Field(True, description="Run database migrations when the server starts.")

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
