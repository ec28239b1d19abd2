"""Settings for Stockroom, read from the environment.

`STOCKROOM_ENV` picks the defaults: ``development`` (the default: DEBUG on, a
development secret key, SQLite, tasks in-process) or ``production`` (DEBUG off,
``SECRET_KEY`` and ``ALLOWED_HOSTS`` required). Every other variable is listed
in the README. A mistake fails at start-up with an ``ImproperlyConfigured``
that names the variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("development", "production")
STOCKROOM_ENV = os.environ.get("STOCKROOM_ENV", "development").strip().lower()
if STOCKROOM_ENV not in ENVIRONMENTS:
    raise ImproperlyConfigured(
        f"STOCKROOM_ENV must be one of {', '.join(ENVIRONMENTS)}; got {STOCKROOM_ENV!r}."
    )
PRODUCTION = STOCKROOM_ENV == "production"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false); got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when STOCKROOM_ENV=production: set it to a long random string."
        )
    SECRET_KEY = "django-insecure-development-only-stockroom-key"  # noqa: S105 - dev only

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is required when STOCKROOM_ENV=production (comma-separated host names)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "backoffice.apps.StockroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "import_export",
    "simple_history",
    "django_celery_beat",
    "axes",
    "backoffice.apps.BackofficeConfig",
    "catalog",
    "inventory",
    "suppliers",
    "orders",
    "reviews",
    "warehouse",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # runserver serves static files in development; whitenoise does in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DEFAULT_SQLITE_PATH = BASE_DIR / "var" / "stockroom.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{DEFAULT_SQLITE_PATH}"
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
except Exception as exc:  # dj-database-url raises ValueError/KeyError for bad URLs
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL Stockroom understands ({exc}). "
        "Use postgres://user:password@host:5432/name or sqlite:///path/to/file.sqlite3."
    ) from None
if _db.get("ENGINE") not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured(
        f"DATABASE_URL must point to PostgreSQL or SQLite; got engine {_db.get('ENGINE')!r}."
    )
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the
        # busy timeout instead of failing with "database is locked" when a
        # read transaction tries to upgrade to a write.
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if _db["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles "expensive" plans; for the short OLTP statements of a
    # back office the compiling costs more than it saves (600 ms of JIT on a 1 s bulk
    # delist of 10,000 products, measured in bench/). PG_JIT=1 turns it back on.
    _db.setdefault("OPTIONS", {})
    if not env_bool("PG_JIT", False):
        _db["OPTIONS"]["options"] = "-c jit=off"
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be 'en' or 'zh-hans'; got {LANGUAGE_CODE!r}.")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Celery -----------------------------------------------------------------
# Unset broker: tasks run in-process (after commit, like a worker would see
# them); set: Redis carries them to a worker.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip()
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be a redis:// or rediss:// URL; got {CELERY_BROKER_URL!r}."
    )
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
# A broker that is down must not hold a web request: publishing gives up after
# about a second and the outbox row stays pending for the periodic re-dispatch.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The progress of a background import is written while its transaction is still open,
# so it goes to a cache the web process can read: Redis when there is a broker (the
# worker is another process), this process's memory without one (the thread runs here).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "progress": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "stockroom-progress",
        }
        if CELERY_BROKER_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "progress"}
    ),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Outbox and scheduled jobs -------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
# Below the broker's visibility timeout (3600 s): no retry ETA outlives it.
OUTBOX_RETRY_MAX_SECONDS = min(env_int("OUTBOX_RETRY_MAX_SECONDS", 3000), 3000)
OUTBOX_LEASE_MARGIN_SECONDS = env_int("OUTBOX_LEASE_MARGIN_SECONDS", 60)
OUTBOX_REDISPATCH_GRACE_SECONDS = env_int("OUTBOX_REDISPATCH_GRACE_SECONDS", 60)
STOCKROOM_ALERT_EMAILS = env_list("STOCKROOM_ALERT_EMAILS", [])
STOCKROOM_SITE_NAME = os.environ.get("STOCKROOM_SITE_NAME", "Stockroom")
SLOW_MOVER_DAYS = env_int("SLOW_MOVER_DAYS", 90)
# A lot with stock that expires within this many days opens an "expiring" stock alert.
EXPIRY_ALERT_DAYS = env_int("EXPIRY_ALERT_DAYS", 30)
STALE_ALLOCATION_DAYS = env_int("STALE_ALLOCATION_DAYS", 14)

# --- E-mail -----------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "stockroom@localhost")

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

# Login protection (django-axes): after AXES_FAILURE_LIMIT failed logins for the
# same user name from the same address, that pair is locked out for the cool-off.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "admin/stockroom/locked_out.html"
# Behind a proxy (production), the client address is the first of X-Forwarded-For.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 1 if PRODUCTION else 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PRODUCTION else ["REMOTE_ADDR"]
)
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Admin at scale -----------------------------------------------------------
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200_000  # "select all" on bulk actions posts one field per row
# A request body (forms, JSON) above this is refused; uploads above the file
# limit go to a temporary file instead of memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Spreadsheet imports larger than this are refused by the import form.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# A csv export of more rows than this is streamed while it is written, not built in memory.
EXPORT_STREAM_THRESHOLD = env_int("EXPORT_STREAM_THRESHOLD", 5000)
# At most this many non-blank rows per sheet; an xlsx declaring more is refused unread.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 200_000)
# An xlsx whose parts unpack to more than this is refused before it is parsed.
IMPORT_XLSX_MAX_UNPACKED_BYTES = env_int("IMPORT_XLSX_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
# Files above this size are checked and applied by a background task, never by the request.
IMPORT_BACKGROUND_BYTES = env_int("IMPORT_BACKGROUND_BYTES", 256 * 1024)
# Without a broker (the embedded default) a background import runs in a thread of the
# web process, so that the request still returns at once.
IMPORT_BACKGROUND_THREADS = env_bool("IMPORT_BACKGROUND_THREADS", True)
# SQLite only (no row locks): a run still "applying" after this long lost its worker.
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 3600)

LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text; got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "backoffice.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own loggers reach the root handler; without this they would also
    # print through Django's default console handler, twice.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

# --- Reviews and compliance ------------------------------------------------------------
REVIEW_TEXT_MAX_CHARS = env_int("REVIEW_TEXT_MAX_CHARS", 5000)
# A product is on the low-rating alert when its approved reviews of the last
# REVIEW_LOW_RATING_DAYS days average below the threshold (with at least
# REVIEW_LOW_RATING_MIN_REVIEWS of them, so that one angry review is not an alert).
REVIEW_LOW_RATING_DAYS = env_int("REVIEW_LOW_RATING_DAYS", 30)
REVIEW_LOW_RATING_THRESHOLD = float(os.environ.get("REVIEW_LOW_RATING_THRESHOLD", "2.5"))
REVIEW_LOW_RATING_MIN_REVIEWS = env_int("REVIEW_LOW_RATING_MIN_REVIEWS", 3)
# Ratings up to this many stars are "low": their words feed the keyword analysis.
REVIEW_LOW_RATING_MAX_STARS = env_int("REVIEW_LOW_RATING_MAX_STARS", 2)
# The dashboard's figures are cached this long (0: computed on every request).
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 60)

# --- Stock counts and ABC classes (F-16) ---------------------------------------------------
# SKUs are ranked per warehouse by the value shipped over the last ABC_WINDOW_DAYS: class A
# holds the SKUs that make the first ABC_A_PERCENT of that value, B the next ABC_B_PERCENT,
# C the rest (and every SKU that shipped nothing).
ABC_WINDOW_DAYS = env_int("ABC_WINDOW_DAYS", 365)
ABC_A_PERCENT = env_int("ABC_A_PERCENT", 80)
ABC_B_PERCENT = env_int("ABC_B_PERCENT", 15)
if not (ABC_A_PERCENT > 0 and ABC_B_PERCENT >= 0 and ABC_A_PERCENT + ABC_B_PERCENT <= 100):
    raise ImproperlyConfigured(
        "ABC_A_PERCENT and ABC_B_PERCENT must be percentages with A above 0 and A + B <= 100; "
        f"got {ABC_A_PERCENT} and {ABC_B_PERCENT}."
    )
# A cycle count of a class is planned when its last one is this many days old.
CYCLE_COUNT_DAYS_A = env_int("CYCLE_COUNT_DAYS_A", 30)
CYCLE_COUNT_DAYS_B = env_int("CYCLE_COUNT_DAYS_B", 90)
CYCLE_COUNT_DAYS_C = env_int("CYCLE_COUNT_DAYS_C", 365)
