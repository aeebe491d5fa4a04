"""Settings, all from the environment through typed helpers that fail loudly.

The defaults run the demo on SQLite under ./data; production (GOVDESK_DEBUG=0)
refuses to start without a secret key and a data key.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("GOVDESK_DEBUG", True)
TESTING = env_bool("GOVDESK_TESTING", False)

DATA_DIR = Path(env_str("GOVDESK_DATA_DIR", str(PROJECT_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET_KEY = "govdesk-insecure-development-key-only-for-the-demo-never-in-production"
_DEV_DATA_KEY = "ZGV2ZWxvcG1lbnQtZGF0YS1rZXktMzItYnl0ZXMhISE="  # 32 bytes, demo only

SECRET_KEY = env_str("GOVDESK_SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
DATA_KEY = env_str("GOVDESK_DATA_KEY") or (_DEV_DATA_KEY if DEBUG else "")
# Older data keys stay readable during a rotation: "id:base64,id:base64".
DATA_KEYS_OLD = env_str("GOVDESK_DATA_KEYS_OLD")
if not DEBUG and (not SECRET_KEY or not DATA_KEY):
    raise ImproperlyConfigured(
        "Production mode (GOVDESK_DEBUG=0) needs GOVDESK_SECRET_KEY and GOVDESK_DATA_KEY; see docs/OPERATIONS.md"
    )

ALLOWED_HOSTS = env_list("GOVDESK_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("GOVDESK_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "govdesk.core",
    "govdesk.invest",
    "govdesk.mall",
    "govdesk.coal",
    "govdesk.veterans",
    "govdesk.contest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "govdesk.core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "govdesk.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "govdesk.urls"
WSGI_APPLICATION = "govdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "govdesk.core.context_processors.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'govdesk.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("GOVDESK_DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue on the busy timeout instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("GOVDESK_TEST_SQLITE_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Tests that commit for real restore the migrated reference data afterwards (serialized
# rollback). Content types and permissions are re-created on demand and must not be
# restored on top of the ones a test already made.
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
AUTH_USER_MODEL = "core.User"

# --- auth and sessions ----------------------------------------------------
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("GOVDESK_SESSION_SECONDS", 8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True  # idle expiry: the clock restarts with every request
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
LOGIN_FAILURE_LIMIT = env_int("GOVDESK_LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("GOVDESK_LOGIN_FAILURE_WINDOW", 15 * 60)

# --- security (production) ------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("GOVDESK_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("GOVDESK_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- i18n -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
NODE_MODULES = Path(env_str("GOVDESK_NODE_MODULES", str(PROJECT_DIR / "node_modules")))
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "files"
MEDIA_URL = "/files/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = env_int("GOVDESK_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)

# --- cache -----------------------------------------------------------------
# What is cached (the mall dashboard's rollup sums, keyed by the rollups' versions) is safe to
# share: with GOVDESK_CACHE_URL (redis://…) every gunicorn worker reads what another computed;
# without it each process keeps its own memory cache.
CACHE_URL = env_str("GOVDESK_CACHE_URL")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "govdesk"}}

# --- background tasks -----------------------------------------------------
TASK_BACKEND = env_str("GOVDESK_TASK_BACKEND", "database")
if TASK_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASK_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": env_str("GOVDESK_REDIS_URL", "redis://127.0.0.1:6379/0")}}
elif TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    raise ImproperlyConfigured(f"GOVDESK_TASK_BACKEND must be database, rq or immediate, got {TASK_BACKEND!r}")
# Tables larger than this go to the background with a progress bar.
TABLE_BACKGROUND_ROWS = env_int("GOVDESK_TABLE_BACKGROUND_ROWS", 2000)
# An xlsx whose largest sheet inflates beyond this is read streaming (openpyxl read-only: constant
# memory, about half calamine's speed); calamine holds a whole sheet in memory.
TABLE_STREAM_SHEET_BYTES = env_int("GOVDESK_TABLE_STREAM_SHEET_BYTES", 96 * 1024 * 1024)

# --- modules ----------------------------------------------------------------
COAL_BACKDATE_DAYS = env_int("GOVDESK_COAL_BACKDATE_DAYS", 7)
COAL_PHOTO_MAX_BYTES = env_int("GOVDESK_COAL_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
# Font files (.ttf/.otf/.ttc) for the invest pitch-sheet PDF, comma-separated, tried in order instead of
# the built-in list of Debian/Fedora/Arch CJK font paths (govdesk/invest/sheets.py); empty: built-in list.
INVEST_PDF_FONTS = env_list("GOVDESK_INVEST_PDF_FONTS")

# --- outbound -------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env_int("GOVDESK_WEBHOOK_TIMEOUT", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("GOVDESK_LOG_LEVEL", "WARNING")},
}
