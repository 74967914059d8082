"""Deployment configuration: infrastructure only.

Per-library settings (opening hours, loan rules, ...) live in database tables, not here.
Pick a class with ILS_CONFIG (default ``config.DevelopmentConfig``); every class then takes
overrides from the environment (see ``apply_env_overrides``).
"""
from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

# Values that must never reach production as a SECRET_KEY.
KNOWN_WEAK_SECRETS = frozenset({"", "dev", "secret", "changeme", "change-me", "test"})
ENV_PREFIXES = ("ILS_", "CATALOG_", "CIRCULATION_", "WORKFLOWS_")


class Config:
    """Defaults shared by every environment."""

    # Flask / security
    SECRET_KEY: str | None = None
    SESSION_COOKIE_NAME = "ils_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    # Idle timeout: the session cookie is refreshed on every request and expires after this.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)
    # Absolute lifetime of a staff login, whatever the activity (ASVS 7.3.2).
    ILS_SESSION_ABSOLUTE_HOURS = 12
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    ILS_HSTS = False

    # Database. None means: SQLite file in the instance folder (set by create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}

    # Jobs. None means: no Redis configured; `flask --app ils serve` starts an embedded one.
    REDIS_URL: str | None = None
    # Days a finished job's record is kept before the periodic purge removes it.
    ILS_JOB_RECORD_RETENTION_DAYS = 90
    # E-mail to staff (workflow steps waiting for them, reminders) goes out over the CIRCULATION_SMTP_*
    # settings; sent messages are deleted after this many days, a failing one is tried this often.
    ILS_STAFF_MAIL_RETENTION_DAYS = 90
    ILS_STAFF_MAIL_MAX_ATTEMPTS = 5
    # The address staff reach the system at (e.g. "https://sipus.bontangkota.go.id"): e-mails then
    # link to the page; without it they name the menu to open.
    ILS_PUBLIC_URL: str | None = None
    # Seconds the demo network report pauses per library so progress is visible to a person.
    ILS_DEMO_REPORT_STEP_SECONDS = 0.3

    # Search index folder (None: <instance>/search-index).
    ILS_SEARCH_INDEX_DIR: str | None = None
    # Memory (MB) each of the two writer processes of a full reindex may use before spilling to disk
    # (1,024 MB: 200,000 records in one pass each; lower it on a small server, the rebuild gets slower).
    ILS_SEARCH_REBUILD_MB = 1024

    # Catalog: our MARC organisation code (001/003 of records made here, 040 $a/$c).
    CATALOG_ORG_CODE = "IdBtgDPK"
    # Largest MARC file accepted from the browser (the CLI has no limit); below MAX_CONTENT_LENGTH.
    CATALOG_IMPORT_MAX_BYTES = 60 * 1024 * 1024
    # Records per import transaction (the resume point after a crash moves in these steps).
    CATALOG_IMPORT_CHUNK = 500
    # Files at least this large (bytes) are read and checked by a helper process while the importing
    # process stores the previous chunk (both CPUs work); smaller ones in one process. None: never.
    CATALOG_IMPORT_HELPER_MIN_BYTES: int | None = 1024 * 1024
    # SRU server (/sru): records per searchRetrieve page when the client names no maximumRecords; the
    # most one page holds (a client asking more gets this many and a nextRecordPosition to go on
    # from); the most terms one scan lists. Explain announces all three.
    CATALOG_SRU_DEFAULT_RECORDS = 10
    CATALOG_SRU_MAX_RECORDS = 100
    CATALOG_SRU_MAX_TERMS = 100

    # OAI-PMH data provider (/oai): identifiers are oai:<CATALOG_OAI_REPOSITORY_ID>:<record id>, so the
    # id must never change once harvesters know it; records per ListRecords/ListIdentifiers page; the
    # contact Identify names (required: unset, /oai answers 503; Development/Testing use a placeholder).
    CATALOG_OAI_REPOSITORY_ID = "sipus.bontang.go.id"
    CATALOG_OAI_REPOSITORY_NAME = "SIPUS Bontang - Katalog Induk Kota Bontang"
    CATALOG_OAI_PAGE_SIZE = 500
    CATALOG_OAI_ADMIN_EMAIL: str | None = None

    # Login protection: per-IP rate limit and per-account lockout.
    ILS_LOGIN_RATE_LIMIT = "20 per minute"
    ILS_LOCKOUT_THRESHOLD = 10
    ILS_LOCKOUT_MINUTES = 15
    # memory:// is replaced by REDIS_URL when one is set, so every web worker shares the counts.
    RATELIMIT_STORAGE_URI = "memory://"
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    # (0: none). Without it, audit IPs and login rate limits see the proxy's address.
    ILS_PROXY_COUNT = 0
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down must not lock everyone out: count in memory until it is back.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    # Languages: Bahasa Indonesia first.
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Makassar"
    ILS_LANGUAGES = ("id", "en")
    ILS_DEFAULT_TIMEZONE = "Asia/Makassar"

    # Front end assets are served by the app itself (works without internet access).
    BOOTSTRAP_SERVE_LOCAL = True

    ILS_ALLOW_DEMO = True

    # Circulation. Card numbers: this prefix (BPS code of Kota Bontang), the patron id, a Luhn digit.
    CIRCULATION_CARD_PREFIX = "6474"
    # NIK encryption key (any long random string); derived from SECRET_KEY when unset. Changing
    # either makes stored NIKs unreadable, so set it once per deployment.
    CIRCULATION_NIK_KEY: str | None = None
    # PIN guessing (OPAC, SIP2): this many wrong PINs lock the PIN for the minutes below (S6).
    CIRCULATION_PIN_LOCKOUT_THRESHOLD = 5
    CIRCULATION_PIN_LOCKOUT_MINUTES = 15
    # Returned loans of patrons who did not opt into a reading history lose their patron link
    # after this many days (0: at once, on return). UU PDP Pasal 42-44, ALA privacy guidance.
    CIRCULATION_ANONYMISE_AFTER_DAYS = 0
    # OPAC member sessions (card number + PIN): idle minutes, absolute hours (unset: the staff value),
    # and per-IP limits on login and self-registration POSTs.
    CIRCULATION_OPAC_IDLE_MINUTES = 15
    CIRCULATION_OPAC_SESSION_ABSOLUTE_HOURS: int | None = None
    CIRCULATION_OPAC_LOGIN_RATE_LIMIT = "20 per minute"
    CIRCULATION_OPAC_REGISTER_RATE_LIMIT = "20 per hour"
    # Seconds a web process keeps its copy of a library's circulation settings and calendar (a change
    # made in another process shows after at most this long; 0: read them for every request).
    CIRCULATION_CACHE_SECONDS = 30
    # Charged for a lost item that has no price in the catalog (rupiah).
    CIRCULATION_LOST_ITEM_PRICE = 50000
    # Open holds one patron may have at a time.
    CIRCULATION_MAX_HOLDS = 5
    # Notices: e-mail over SMTP (no host: e-mail notices wait in the outbox) ...
    CIRCULATION_SMTP_HOST: str | None = None
    CIRCULATION_SMTP_PORT = 587
    CIRCULATION_SMTP_USER: str | None = None
    CIRCULATION_SMTP_PASSWORD: str | None = None
    CIRCULATION_SMTP_STARTTLS = True
    CIRCULATION_MAIL_FROM = "perpustakaan@localhost"
    # ... and a WhatsApp/SMS gateway reached by an HTTP POST of a JSON template (no URL: none).
    CIRCULATION_WEBHOOK_URL: str | None = None
    CIRCULATION_WEBHOOK_TOKEN: str | None = None
    CIRCULATION_WEBHOOK_TEMPLATE = '{"to": "{phone}", "message": "{text}"}'
    # Days the text of a sent notice is kept (it names the member and the books); then it is cleared.
    CIRCULATION_NOTICE_TEXT_DAYS = 90
    # Attempts before a notice is marked failed.
    CIRCULATION_NOTICE_MAX_ATTEMPTS = 5

    # Workflows: evidence files (bukti fisik) live outside static/ (None: <instance>/evidence).
    WORKFLOWS_EVIDENCE_DIR: str | None = None
    # Largest evidence file: documents and photos are far smaller; a short phone video fits (R6).
    WORKFLOWS_EVIDENCE_MAX_BYTES = 50 * 1024 * 1024


class DevelopmentConfig(Config):
    """Embedded default: SQLite + embedded Redis, for one machine."""

    DEBUG = False
    # Placeholder (the Dinas Perpustakaan's public address); production sets the real one.
    CATALOG_OAI_ADMIN_EMAIL = "perpustakaan@bontangkota.go.id"


class TestingConfig(Config):
    """Used by the test suite; jobs run in-process on fakeredis unless REDIS_URL is set."""

    TESTING = True
    SECRET_KEY = "testing-only-secret-key-not-for-production-use"
    REDIS_URL = "fakeredis://"
    ILS_DEMO_REPORT_STEP_SECONDS = 0.0
    # Argon2 at production cost makes hundreds of logins slow; the hash format is the same.
    ILS_ARGON2_FAST = True
    # Tests change settings and closures straight in the tables; the cache has its own test.
    CIRCULATION_CACHE_SECONDS = 0
    CATALOG_OAI_ADMIN_EMAIL = "perpustakaan@bontangkota.go.id"


class ProductionConfig(Config):
    """PostgreSQL + Redis; refuses to start without real secrets (see ``check_production``)."""

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-ils_session"
    REMEMBER_COOKIE_SECURE = True
    ILS_HSTS = True
    ILS_ALLOW_DEMO = False


def _parse(value: str) -> Any:
    """Read an environment value as JSON when it looks like JSON, else as a string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def apply_env_overrides(config: dict[str, Any], environ: dict[str, str] | None = None) -> None:
    """Apply DATABASE_URL, REDIS_URL, SECRET_KEY and every ILS_/CATALOG_/... variable."""
    env = os.environ if environ is None else environ
    if env.get("DATABASE_URL"):
        url = env["DATABASE_URL"]
        # psycopg 3 is the driver we ship; plain postgres URLs would ask for psycopg2.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        config["SQLALCHEMY_DATABASE_URI"] = url
    if env.get("REDIS_URL"):
        config["REDIS_URL"] = env["REDIS_URL"]
    if env.get("SECRET_KEY"):
        config["SECRET_KEY"] = env["SECRET_KEY"]
    for name, value in env.items():
        if name.startswith(ENV_PREFIXES) and name != "ILS_CONFIG":
            config[name] = _parse(value)


def check_production(config: dict[str, Any]) -> None:
    """Refuse to run production with a guessable secret or without a real database."""
    secret = config.get("SECRET_KEY") or ""
    if secret.lower() in KNOWN_WEAK_SECRETS or len(secret) < 32:
        raise RuntimeError("ProductionConfig needs SECRET_KEY: a random value of at least 32 characters.")
    uri = config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not uri or uri.startswith("sqlite"):
        raise RuntimeError("ProductionConfig needs DATABASE_URL pointing at PostgreSQL.")
    if not config.get("REDIS_URL") or str(config["REDIS_URL"]).startswith("fakeredis"):
        raise RuntimeError("ProductionConfig needs REDIS_URL pointing at a Redis server.")
