"""One place for configuration: environment variables, each documented here (and in docs/configuration.md)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

DEFAULT_DATABASE_URL = "sqlite:///./data/verwerkingenlog.db"
# The register's own processing activity for reading the log (§10.5); configure the UUID of your VAR entry.
DEFAULT_SELF_LOG_ACTIVITY = "3c1f0b1e-6d0a-4e55-9b5e-0a3f7c9d2b11"
DEFAULT_FG_ACTIVITY = "7b2e9c4d-1f3a-4c8e-a6d5-2e0f9b8c7a61"


class ClientLimits(BaseModel):
    """Limits of one API client (CLIENT_LIMITS); unset values fall back to the register-wide settings."""

    rate_limit_per_minute: int | None = Field(None, ge=0)
    max_body_bytes: int | None = Field(None, ge=1)


class FileVariableSource(EnvSettingsSource):
    """`X_FILE` for every setting `X`: the value is the content of that file, trailing newlines stripped.

    This is how a secret store hands values to a container without putting them in the environment (a Kubernetes
    Secret mounted as files, Docker/Podman secrets under /run/secrets; docs/deployment.md). Setting both `X` and
    `X_FILE` is refused, naming both, so that an operator never wonders which one counts. A setting whose own name
    ends in `_file` (KEY_FILE) keeps its meaning; `X_FILE` is not offered for `X` when `X_FILE` is itself a setting.
    Values are parsed exactly as the environment's are (JSON for lists and mappings), by the parent class."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environment = {key.lower(): value for key, value in os.environ.items()}
        fields = set(self.settings_cls.model_fields)
        values: dict[str, str | None] = {}
        for name in sorted(fields):
            variable = f"{name}_file"
            path = environment.get(variable)
            if variable in fields or not path:
                continue
            if name in environment:
                raise SettingsError(f"{name.upper()} and {variable.upper()} are both set: set only one of them")
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError(f"{variable.upper()}: cannot read {path} ({exc})") from exc
            values[name] = text.rstrip("\r\n")
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment, then `X_FILE` (FileVariableSource); both for one setting is an error there."""
        return init_settings, env_settings, FileVariableSource(settings_cls), dotenv_settings, file_secret_settings

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. `sqlite:///path` (embedded default) or `postgresql://user@host/db`.",
    )
    database_read_url: str | None = Field(
        None,
        description="A streaming replica for the reads of the Bewerking and Inzage GETs (docs/scaling.md), e.g. "
        "`postgresql://user@replica1:5432,replica2:5432/db?target_session_attrs=standby`. The self-log entry of "
        "every read, and every write, still goes to DATABASE_URL; a client that wrote within "
        "DATABASE_READ_AFTER_WRITE_SECONDS reads from the primary. Unreachable replica: the primary answers.",
    )
    database_read_after_write_seconds: float = Field(
        10.0,
        ge=0,
        description="Read-your-writes with DATABASE_READ_URL: for this long after a client changed the log "
        "(through this server process), its reads go to the primary, whatever the replica's lag.",
    )
    public_base_url: str | None = Field(
        None,
        description="Public URL of the API root (e.g. https://log.gemeente.nl/api/v1) used in `url` fields. "
        "Default: derived from each request.",
    )
    api_contact_name: str = Field(
        "Gemeente Voorbeeldstad",
        description="`info.contact.name` of the OpenAPI documents this register serves (ADR /core/doc-openapi-"
        "contact): the deploying municipality. The default is a placeholder: set it.",
        examples=["Gemeente Utrecht"],
    )
    api_contact_url: str = Field(
        "https://www.gemeente.example",
        description="`info.contact.url` of the served OpenAPI documents: where the municipality answers questions "
        "about this API.",
        examples=["https://www.utrecht.nl/privacy"],
    )
    api_contact_email: str = Field(
        "privacy@gemeente.example",
        description="`info.contact.email` of the served OpenAPI documents.",
        examples=["privacy@utrecht.nl"],
    )
    time_zone: str = Field(
        "Europe/Amsterdam", description="Zone in which `beginDatum`/`eindDatum` dates start (R-GETL-2)."
    )
    jwt_max_age_seconds: int = Field(3600, description="Tokens whose `iat` is older than this are refused.")
    jwt_leeway_seconds: int = Field(60, description="Clock skew tolerated on `iat` and `exp`.")
    max_token_bytes: int = Field(
        4096,
        ge=256,
        description="Longest bearer token accepted; a longer one gets 401 before it is decoded "
        "(docs/deployment.md, Request limits). A client's HS256 token is a few hundred bytes.",
    )
    client_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a server process keeps a client registration and a verified token in memory "
        "instead of reading them per request (docs/performance.md). Changes made through the register (CLI, admin "
        "pages) take effect from the next request on in every server process: on PostgreSQL every process hears "
        "them (LISTEN/NOTIFY) and caches nothing while it cannot; on SQLite every cached answer is preceded by a "
        "read of a change counter the database raises on every client change (also a change by hand in SQL). "
        "Only on PostgreSQL is a change made by hand in SQL seen no later than this time. 0 switches the cache "
        "off.",
    )
    max_body_bytes: int = Field(1_048_576, description="Request bodies larger than this get 413.")
    max_header_bytes: int = Field(
        16_384,
        ge=1024,
        description="Largest request head (request line and headers together) `verwerkingenlog serve` reads; a "
        "larger one gets 431 and the connection is closed (docs/deployment.md, Request limits).",
    )
    otlp_max_body_bytes: int = Field(
        8_388_608,
        ge=1,
        description="Largest OTLP export (POST /v1/traces) accepted, after gzip decompression; larger ones get 413. "
        "OpenTelemetry batches are larger than single VNG requests (docs/logboek.md).",
    )
    otlp_max_spans: int = Field(
        50_000,
        ge=1,
        description="Most spans accepted in one OTLP/HTTP export (POST /v1/traces), counted before any is mapped; "
        "more get 413. SDK batches hold 512 by default, a Collector's batch processor 8192.",
    )
    strict_ingest_vng: bool = Field(
        False,
        description="Strict ingest for the VNG API (POST /verwerkingsacties and its bulk extension): refuse with 422 "
        "an entry whose verwerkingsactiviteitId is unknown to or retired in the VAR, or that holds a BSN-shaped value "
        "(nine digits passing the elfproef) outside the data-subject fields. Off by default: the standard does not "
        "require the VAR to know an activity (§17.4), and a supplier's first call on an empty VAR must work; lenient "
        "mode counts what strict mode would refuse (metric verwerkingenlog_strict_ingest_would_refuse_total, "
        "docs/logboek.md).",
    )
    strict_ingest_otlp: bool = Field(
        False,
        description="Strict ingest for OTLP spans (Logboek Dataverwerkingen): reject, per span in the partial-success "
        "answer, a span whose dpl.core.processing_activity_id is unknown to or retired in the VAR, or that holds a "
        "BSN-shaped value outside dpl.core.data_subject_id (attributes, resource, events such as exception.message). "
        "Off by default; lenient mode counts (see STRICT_INGEST_VNG).",
    )
    otlp_keep_exception_stacktrace: bool = Field(
        False,
        description="Keep `exception.stacktrace` of an OTLP span (its `exception` event or attribute) in the entry. "
        "Off by default (data minimisation: a stack trace can carry personal data and says more than the log needs); "
        "`exception.type` and `exception.message` are always kept (docs/logboek.md).",
    )
    logboek_read_batch_max: int = Field(
        50,
        ge=1,
        le=1000,
        description="Most trace ids plus data subjects one read-extension query (POST /api/v1/processing-activities) "
        "may name in a batch; more is a 400 naming the criterion (docs/logboek.md, Batch queries).",
    )
    otlp_grpc_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the OTLP/gRPC trace receiver (TraceService/Export), served by the same process; "
        "unset: no gRPC receiver, OTLP/HTTP POST /v1/traces only (docs/logboek.md).",
    )
    otlp_grpc_host: str = Field(
        "127.0.0.1",
        description="Address the OTLP/gRPC receiver binds to; plain gRPC, so put a TLS-terminating proxy in front "
        "(Logboek Dataverwerkingen requires TLS) and bind 0.0.0.0 only behind it.",
    )
    rate_limit_per_minute: int = Field(
        0,
        ge=0,
        description="Requests each API client may make per minute (then 429 with Retry-After); 0: no limit. "
        "Counted in memory per worker process (docs/deployment.md, Limits).",
    )
    client_limits: dict[str, ClientLimits] = Field(
        default_factory=dict,
        description="Per-client overrides of RATE_LIMIT_PER_MINUTE and MAX_BODY_BYTES, as JSON keyed by client id.",
        examples=['{"zaaksysteem": {"rate_limit_per_minute": 6000, "max_body_bytes": 4194304}}'],
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS). Default: none, CORS closed.",
        examples=['["https://mijn.gemeente.nl"]'],
    )
    hsts_max_age_seconds: int = Field(
        31_536_000,
        ge=0,
        description="`Strict-Transport-Security` max-age, sent on HTTPS requests (behind a TLS-terminating proxy: "
        "run with `FORWARDED_ALLOW_IPS` set to the proxy's address so the scheme is known); 0: not sent.",
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`json`: one JSON object per line with request_id (for log shippers); `text`: for people."
    )
    log_level: str = Field("INFO", description="Lowest level logged (DEBUG, INFO, WARNING, ERROR).")
    metrics_address: str = Field(
        "",
        description="`host:port` of a separate listener for GET /metrics (no token there), started by "
        "`verwerkingenlog serve` beside the public port; bind it to an internal interface. Empty: no such "
        "listener (docs/deployment.md, Monitoring).",
        examples=["10.0.0.5:9100"],
    )
    metrics_token: str | None = Field(
        None,
        description="When set, GET /metrics on the public port answers only with `Authorization: Bearer "
        "<METRICS_TOKEN>`. Unset (the default): /metrics on the public port is 404.",
    )

    @field_validator("metrics_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        """Refused at start, not at the first scrape."""
        value = value.strip()
        if value:
            _, sep, port = value.rpartition(":")
            if not sep or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"METRICS_ADDRESS must be host:port, not {value!r}")
        return value

    @property
    def metrics_listener(self) -> tuple[str, int] | None:
        """METRICS_ADDRESS as (host, port); None when empty. `[::1]:9100` for IPv6."""
        if not self.metrics_address:
            return None
        host, _, port = self.metrics_address.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)

    self_logging: bool = Field(
        True,
        description="Log every read of the log as a processing (§10.5). Switching off is reported at start.",
    )
    self_log_verwerkingsactiviteit_id: str = Field(
        DEFAULT_SELF_LOG_ACTIVITY, description="`verwerkingsactiviteitId` of the register's own reads."
    )
    self_log_verwerkingsactiviteit_url: str | None = Field(
        None,
        description="`verwerkingsactiviteitUrl` of the register's own reads "
        "(default: its own VAR URL when PUBLIC_BASE_URL is set).",
    )
    self_log_bewaartermijn: str = Field(
        "P2Y", description="Retention of self-log entries when the caller sends no `Bewaartermijn` header."
    )
    fg_verwerkingsactiviteit_id: str = Field(
        DEFAULT_FG_ACTIVITY,
        description="`verwerkingsactiviteitId` under which every view of the FG's tools (docs/fg.md) is logged as a "
        'processing of the persons it shows: "Controle door de functionaris gegevensbescherming".',
    )
    fg_signal_factor: float = Field(
        3.0,
        gt=1,
        description="FG signal `veel_personen`: a gebruiker processing at least this many times as many persons "
        "under one activity as their own baseline or the median of their peers (docs/fg.md).",
    )
    fg_signal_min_persons: int = Field(
        20, ge=1, description="FG signal `veel_personen`: below this many persons in the period it never fires."
    )
    fg_signal_baseline_days: int = Field(
        28, ge=0, description="FG signal `veel_personen`: the days before the period that form the own baseline."
    )
    fg_working_hours: str = Field(
        "07:00-19:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description="FG signal `buiten_werktijd`: the working hours, `HH:MM-HH:MM` in TIME_ZONE (`24:00`: midnight).",
        examples=["08:00-18:00"],
    )
    fg_working_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5],
        description="FG signal `buiten_werktijd`: the working days, JSON list of ISO weekdays (1 = Monday).",
        examples=["[1, 2, 3, 4, 5, 6]"],
    )
    fg_signal_min_off_hours: int = Field(
        3, ge=1, description="FG signal `buiten_werktijd`: the entries outside working hours a gebruiker needs."
    )
    fg_signal_max_entries: int = Field(
        1_000_000,
        ge=1,
        description="The FG signals read every person entry of the period into memory: a period with more is refused "
        "(400, choose a shorter one) rather than exhausting the server.",
    )
    fg_signal_max_employees: int = Field(
        5,
        ge=1,
        description="FG signal `veel_medewerkers`: a person processed by more than this many different gebruikers "
        "in the period.",
    )

    @field_validator("fg_working_days")
    @classmethod
    def _iso_weekdays(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 7 for d in value):
            raise ValueError(f"FG_WORKING_DAYS must list ISO weekdays 1 (Monday) to 7 (Sunday), not {value!r}")
        return value

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
    personal_data_objecttypes: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Objecttypes whose every `objectId` is pseudonymised (blind index + encryption, R-PRIV-1), "
        "whatever its `soortObjectId`: `*` (the default) for every objecttype, or a list. `persoon` is always "
        "pseudonymised, and so is any identifier whose kind is a spelling of BSN (docs/integrity.md §14, "
        "README 'Privacy by design').",
        examples=['["persoon"]'],
    )
    client_secret_key: SecretStr | None = Field(
        None,
        description="Key(s) that encrypt the API clients' secrets in the database (AES-256-GCM), as "
        "`ID:SECRET[,ID:SECRET…]` (each secret at least 32 characters; one bare secret is key `default`). The first "
        "key encrypts, every key decrypts: to rotate, put a new key first, run `verwerkingenlog clients reencrypt`, "
        "then drop the old one (docs/deployment.md, Key management). Default: a key file created in the data "
        "directory (CLIENT_KEY_FILE).",
        examples=["2026-12:$(openssl rand -base64 36),2025-01:…"],
    )
    client_key_file: Path = Field(
        Path("./data/client-secret.key"), description="Key file used when CLIENT_SECRET_KEY is unset."
    )
    migrate_on_start: bool = Field(True, description="Run database migrations when the server starts.")
    shutdown_timeout_seconds: int = Field(
        20,
        ge=0,
        description="On SIGTERM the server stops accepting connections, lets the requests in flight finish (the "
        "group-commit batch they wait for commits), then closes; a request still running after this many seconds "
        "is cancelled so the process ends before the orchestrator's kill (keep it below Kubernetes' "
        "terminationGracePeriodSeconds). 0: wait for every request.",
    )
    idempotency_key_ttl_seconds: int = Field(
        86_400,
        ge=86_400,
        description="How long an `Idempotency-Key` of POST /verwerkingsacties is remembered (extension, "
        "docs/idempotency.md); at least 24 hours, so that a client retrying after an outage is still deduplicated.",
    )
    group_commit_window_ms: float = Field(
        1.0,
        ge=0,
        le=1000,
        description="Group commit (docs/performance.md): how long the first waiting new action waits for others "
        "to share its transaction. Each request is answered only after its transaction committed. 0: no waiting "
        "(requests arriving while a batch commits still share the next one).",
    )
    group_commit_max_batch: int = Field(
        256, ge=1, description="Group commit: at most this many actions per transaction (1 switches it off)."
    )
    bulk_max_body_bytes: int = Field(
        67_108_864,
        ge=1,
        description="Largest body accepted by the bulk ingest extension (POST /api/v1/verwerkingsacties/bulk).",
    )
    bulk_max_entries: int = Field(
        10_000, ge=1, description="Most actions accepted in one bulk ingest request (more: 413)."
    )
    var_import_max_bytes: int = Field(
        10_485_760,
        ge=1,
        description="Largest VAR spreadsheet (CSV or XLSX) accepted by the admin pages' import; an XLSX may unpack "
        "to at most 64 MiB, and a sheet may have at most 10,000 rows and 200 columns (docs/deployment.md, "
        "Request limits).",
    )
    partitions_ahead_months: int = Field(
        3,
        ge=0,
        le=120,
        description="PostgreSQL: keep the monthly partitions of the log tables created for the current month and "
        "this many months ahead (docs/performance.md; registrations outside them land in a DEFAULT partition).",
    )
    partition_maintenance_interval_seconds: int = Field(
        86_400,
        ge=0,
        description="PostgreSQL: the server creates the partitions ahead at start and then this often "
        "(0: only at start and with `verwerkingenlog partitions --create`).",
    )

    checkpoint_origin: str | None = Field(
        None,
        description="Name of this register's Merkle log: the first line of every checkpoint and the name of its "
        "signing key (docs/integrity.md §4), a schema-less URL without spaces or `+`. "
        "Default: `<host of PUBLIC_BASE_URL>/verwerkingenlog`, or `localhost/verwerkingenlog`.",
    )
    checkpoint_key_file: Path = Field(
        Path("./data/checkpoint-signing.key"),
        description="Secret Ed25519 key that signs checkpoints (created on first use, mode 0600; "
        "`verwerkingenlog keys generate`, `rotate`, `list`). Keep it apart from the database.",
    )
    checkpoint_interval_seconds: int = Field(
        60,
        ge=0,
        description="Sign a new checkpoint this often while the log grew (0: only with `verwerkingenlog checkpoint`).",
    )
    checkpoint_witness_file: Path | None = Field(
        None, description="Append every signed checkpoint to this file (an external copy `verify --witness` reads)."
    )
    checkpoint_witness_url: str | None = Field(
        None,
        description="POST every signed checkpoint (text/plain) to this URL; failures are logged and retried, "
        "never blocking writes.",
    )

    portal_enabled: bool = Field(
        True, description="Serve the citizen portal 'Mijn verwerkingen' under /portaal (docs/portal.md)."
    )
    portal_session_secret: str | None = Field(
        None,
        description="Secret (at least 32 characters) that signs and encrypts the portal's session cookie. "
        "Default: a random secret per start (sessions end at restart; set it when running several workers).",
        examples=["$(openssl rand -base64 48)"],
    )
    portal_cookie_secure: bool = Field(
        True, description="Send the portal session cookie only over HTTPS (browsers treat localhost as secure)."
    )
    portal_demo_login: bool = Field(
        False,
        description="Offer the demo login (pick a demo citizen, no authentication) with a banner on every page. "
        "Refused at start when PORTAL_OIDC_ISSUER is set: a real login and a demo login never coexist.",
    )
    portal_demo_citizens: str = Field(
        "999990019,999993653",
        description="BSNs (test numbers, comma-separated) the demo login offers; only with PORTAL_DEMO_LOGIN.",
    )
    portal_demo_machtigingen: str = Field(
        "999993653:999990019",
        description="Machtigingen the demo login offers, as `gemachtigde:vertegenwoordigde` BSN pairs "
        "(comma-separated); only with PORTAL_DEMO_LOGIN.",
    )
    portal_oidc_representee_claim: str = Field(
        "",
        description="Claim (a dotted path, e.g. `aanvrager.bsn`) of the ID token or userinfo with the BSN of the "
        "person a gemachtigde represents (DigiD Machtigen through the broker). Empty: no machtigen.",
    )
    portal_machtiging_verwerkingsactiviteit_id: str = Field(
        "b7e3c2a1-4f5d-4e6a-9b8c-7d6e5f4a3b21",
        description="The VAR activity of look-ups on someone else's behalf ('Inzage met machtiging'), sent as "
        "`VerwerkingsactiviteitId` by a gemachtigde's look-ups and logged with the portal's action about both.",
    )
    portal_oidc_issuer: str | None = Field(
        None,
        description="Issuer URL of the OpenID provider (DigiD/eHerkenning broker); discovery is used.",
        examples=["https://broker.gemeente.nl/realms/digid"],
    )
    portal_oidc_client_id: str | None = Field(
        None, description="The portal's client id at the OpenID provider.", examples=["mijn-verwerkingen"]
    )
    portal_oidc_client_secret: str | None = Field(
        None, description="The portal's client secret there.", examples=["(from the broker)"]
    )
    portal_oidc_scope: str = Field("openid", description="Scopes asked of the OpenID provider.")
    portal_oidc_bsn_claim: str = Field("bsn", description="Claim of the ID token or userinfo that holds the BSN.")
    portal_oin: str | None = Field(
        None,
        description="OIN of the municipality, sent as the `OIN` header of the portal's Inzage calls (§10.3). "
        "Required for the portal to look anything up.",
        examples=["00000001001172773000"],
    )
    portal_verwerkingsactiviteit_id: str = Field(
        "6a1d4c0e-2b7f-4d8e-9c3a-5e0f1b2a7d44",
        description="The VAR activity of the portal ('Inzage in eigen verwerkingen'), sent as "
        "`VerwerkingsactiviteitId` with every lookup.",
    )
    portal_verwerkingsactiviteit_url: str | None = Field(
        None,
        description="`VerwerkingsactiviteitUrl` of the portal's lookups (default: this register's VAR URL).",
        examples=["https://log.gemeente.nl/api/v1/verwerkingsactiviteit/6a1d4c0e-…"],
    )
    portal_bewaartermijn: str = Field("P1Y", description="`Bewaartermijn` header of the portal's lookups.")
    portal_register_name: str = Field(
        "Verwerkingenlog van de gemeente", description="Name under which the portal shows this register's entries."
    )
    portal_include_self: bool = Field(True, description="Let the portal read this register (as client `portal`).")
    portal_registers: str = Field(
        "[]",
        description="Remote registers the portal also reads, as JSON: "
        '`[{"naam": "...", "url": "https://.../api/v1", "client_id": "...", "secret": "..."}]`.',
        examples=[
            '[{"naam": "Belastingen", "url": "https://log.belastingen.nl/api/v1", "client_id": "portaal", '
            '"secret": "…"}]'
        ],
    )
    portal_rate_limit_per_minute: int = Field(
        20, ge=1, description="Login and export requests allowed per client IP per minute (then 429)."
    )

    admin_oidc_issuer: str | None = Field(
        None,
        description="Issuer URL of the employees' OpenID provider (discovery is used). The admin pages under "
        "/beheer exist only when this (or ADMIN_DEMO_LOGIN) is set (docs/admin.md).",
        examples=["https://login.gemeente.nl/realms/medewerkers"],
    )
    admin_oidc_client_id: str | None = Field(
        None, description="The admin pages' client id at the OpenID provider.", examples=["verwerkingenlog-beheer"]
    )
    admin_oidc_client_secret: str | None = Field(
        None, description="The admin pages' client secret there.", examples=["(from the provider)"]
    )
    admin_oidc_scope: str = Field("openid profile", description="Scopes asked of the employees' OpenID provider.")
    admin_oidc_roles_claim: str = Field(
        "groups",
        description="Claim of the ID token or userinfo holding the employee's groups or roles (a string or a list); "
        "a dotted path reaches into objects, e.g. `realm_access.roles`.",
        examples=["realm_access.roles"],
    )
    admin_role_map: dict[str, str] = Field(
        default_factory=lambda: {"verwerkingenlog-beheerder": "beheerder", "verwerkingenlog-fg": "fg"},
        description="JSON: claim value → admin role. `beheerder` may do everything; `fg` (the privacy officer) "
        "reads the doelbinding report, the checkpoint status and the audit trail. Other values give no access.",
    )
    admin_session_secret: str | None = Field(
        None,
        description="Secret (at least 32 characters) that signs the admin session cookie. "
        "Default: a random secret per start (sessions end at restart; set it when running several workers).",
        examples=["$(openssl rand -base64 48)"],
    )
    admin_demo_login: bool = Field(
        False,
        description="Offer a demo login on the admin pages (pick the role `beheerder` or `fg`, no authentication) "
        "with a banner on every page; `verwerkingenlog demo` (`make run`) turns it on. Refused at start when "
        "ADMIN_OIDC_ISSUER is set: a real login and a demo login never coexist.",
    )
    admin_cookie_secure: bool = Field(
        True, description="Send the admin session cookie only over HTTPS (browsers treat localhost as secure)."
    )

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def log_origin(self) -> str:
        """The checkpoint origin (and key name): configured, or derived from the public base URL."""
        if self.checkpoint_origin:
            return self.checkpoint_origin
        host = urlsplit(self.public_base_url).hostname if self.public_base_url else None
        return f"{host or 'localhost'}/verwerkingenlog"


def reference_markdown() -> str:
    """The configuration reference (docs/configuration.md), generated from the fields above."""
    lines = [
        "# Configuration reference",
        "",
        "Generated by `verwerkingenlog config-reference` from `src/verwerkingenlog/settings.py`; do not edit by hand.",
        "Every setting is an environment variable (names are case-insensitive). Every setting `X` can also be given",
        "as a file: `X_FILE=/path` reads the value from that file, trailing newlines stripped (a mounted Kubernetes",
        "Secret, a container secret under /run/secrets); setting both `X` and `X_FILE` is refused at start.",
        "Where each setting comes from on Kubernetes (ConfigMap, Secret file): [deployment.md](deployment.md).",
        "",
        "| Variable | Default | Example | On Kubernetes | Meaning |",
        "|---|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "(unset)" if default is None else f"`{_env_text(default)}`"
        example = (field.examples or [])[:1] or ([_EXAMPLES[name]] if name in _EXAMPLES else [])
        example_text = f"`{name.upper()}={example[0]}`" if example else f"`{name.upper()}={_env_text(default)}`"
        example_text = example_text.replace("|", "&#124;")
        source = kubernetes_source(name)
        lines.append(f"| `{name.upper()}` | {shown} | {example_text} | {source} | {field.description or ''} |")
    return "\n".join(lines) + "\n"


# Where a setting comes from on Kubernetes (docs/deployment.md, Kubernetes): secrets from the Secret, as files named
# by X_FILE; everything else from the ConfigMap. A name that looks secret counts as secret, so that a setting added
# later (`…_SECRET`, `…_TOKEN`, `…_KEY`, `…_PASSWORD`, `DATABASE_…_URL` with its credentials) is documented as a
# Secret too.
_SECRET_NAME = re.compile(r"secret|token|password|(^|_)key$|^database(_\w+)?_url$")
_KUBERNETES_SOURCES: dict[str, str] = {
    "database_url": "Secret file (`DATABASE_URL_FILE`)",
    "portal_registers": "Secret file (`PORTAL_REGISTERS_FILE`): holds the remote registers' secrets",
    "checkpoint_key_file": "Secret, mounted: this is the key file's path",
    "key_file": "not used: set `PSEUDONYMISATION_KEY_FILE`",
    "checkpoint_witness_file": "a mounted volume: this is its path",
}


def kubernetes_source(name: str) -> str:
    """`Secret file (X_FILE)` or `ConfigMap`: how the manifests in deploy/ give a pod the setting `name`."""
    if name in _KUBERNETES_SOURCES:
        return _KUBERNETES_SOURCES[name]
    if _SECRET_NAME.search(name):
        return f"Secret file (`{name.upper()}_FILE`)"
    return "ConfigMap"


def _env_text(value: object) -> str:
    """A value as it is written in the environment: JSON for lists and mappings, `true`/`false` for booleans."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# Examples for the reference where a default is not itself a useful example (fields may also set `examples=`).
_EXAMPLES: dict[str, str] = {
    "database_url": "postgresql://verwerkingenlog_app:secret@db.internal:5432/verwerkingenlog",
    "public_base_url": "https://log.gemeente.nl/api/v1",
    "pseudonymisation_key": "$(openssl rand -base64 36)",
    "key_file": "/etc/verwerkingenlog/pseudonymisation.key",
    "client_key_file": "/etc/verwerkingenlog/client-secret.key",
    "migrate_on_start": "false",
    "self_log_verwerkingsactiviteit_url": "https://log.gemeente.nl/api/v1/verwerkingsactiviteit/3c1f0b1e-…",
    "checkpoint_origin": "log.gemeente.nl/verwerkingenlog",
    "checkpoint_key_file": "/etc/verwerkingenlog/checkpoint-signing.key",
    "checkpoint_witness_file": "/mnt/witness/checkpoints.txt",
    "checkpoint_witness_url": "https://witness.gemeente.nl/checkpoints",
    "rate_limit_per_minute": "600",
    "log_format": "text",
    "metrics_token": "$(openssl rand -hex 24)",
}
