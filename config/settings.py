"""Project settings. Every deploy-specific value comes from the environment, read here only."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ISP_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = env_bool("ISP_PRODUCTION")
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
    SECRET_KEY = "insecure-development-key-change-me-" + "x" * 20

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "*")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.guardian",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "guardian",
    "import_export",
    "django_celery_beat",
    "treebeard",
    "auditlog",
    "axes",
    "modules.core",
    "modules.settings_hub",
    "modules.plans",
    "modules.subscribers",
    "modules.networking",
    "modules.billing",
    "modules.partners",
    "modules.inventory",
    "modules.support",
    "modules.reports",
    "modules.selfcare",
    "modules.notifications",
    "radius_server",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "modules.core.middleware.TenantMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "modules.core.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL everywhere. deploy/local.py starts an embedded server and sets DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/isp"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})
# No JIT: compiling a big report or dashboard query took longer (0.3-2 s) than running it.
DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 5.x transitional setting; the 6.0 default

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "modules.core.backends.PortalBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "modules.settings_hub.validators.TenantPasswordPolicyValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/dashboard/index"

# Sign-in lockout; limits come from each tenant's Security settings.
AXES_FAILURE_LIMIT = "modules.settings_hub.security.failure_limit"
AXES_COOLOFF_TIME = "modules.settings_hub.security.cooloff_time"
AXES_LOCKOUT_PARAMETERS = ["username"]
# Accounts are locked, not addresses: staff often share one office NAT address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "modules.core.views.lockout_response"

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

# Key for subscriber RADIUS passwords at rest (Fernet, urlsafe base64 of 32 bytes).
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
if not FIELD_ENCRYPTION_KEY and PRODUCTION:
    raise RuntimeError("FIELD_ENCRYPTION_KEY must be set in production")

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
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

CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
        }
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_entries"}
    )
}

# Celery: with no broker configured, a broker that needs no extra server (files under var/).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
_broker_dir = VAR_DIR / "celery-broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    # The file broker needs its folders before the first task is queued, from any process.
    for _folder in ("processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# Import/export: separate permissions, storage that works with several web workers.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"
IMPORT_EXPORT_SKIP_ADMIN_LOG = True
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_USE_TRANSACTIONS = True

AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

# RADIUS server.
RADIUS_AUTH_ADDRESS = os.environ.get("RADIUS_AUTH_ADDRESS", "127.0.0.1:1812")
RADIUS_ACCT_ADDRESS = os.environ.get("RADIUS_ACCT_ADDRESS", "127.0.0.1:1813")
# Accounting is acknowledged once fsynced here (one slot per server process) and applied to
# PostgreSQL from there; beyond the bound the server stops answering accounting.
RADIUS_SPOOL_DIR = os.environ.get("RADIUS_SPOOL_DIR", str(VAR_DIR / "radius-spool"))
RADIUS_SPOOL_MAX_MB = int(os.environ.get("RADIUS_SPOOL_MAX_MB", "1024"))
# Under load the applier commits at most once per this many seconds: a session's Interim-Updates
# of the interval fold into one row write. Sessions and usage in PostgreSQL lag by about this.
RADIUS_SPOOL_APPLY_INTERVAL = float(os.environ.get("RADIUS_SPOOL_APPLY_INTERVAL", "1.0"))

# Security headers; production turns on the strict set.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

from config.unfold import UNFOLD  # noqa: E402,F401  (sidebar and theme live in their own file)

# Support: ticket attachments (bytes; default 10 MiB).
SUPPORT_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("SUPPORT_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))
)

# RADIUS policy (networking). Expired / unpaid-in-grace subscribers of a tenant without Billing
# Engine settings: "reject" or "walled_garden"; the walled garden gets this pool and rate.
RADIUS_UNPAID_MODE = os.environ.get("RADIUS_UNPAID_MODE", "reject")
RADIUS_WALLED_GARDEN_POOL = os.environ.get("RADIUS_WALLED_GARDEN_POOL", "walled-garden")
RADIUS_WALLED_GARDEN_KBPS = int(os.environ.get("RADIUS_WALLED_GARDEN_KBPS", "256"))
RADIUS_INTERIM_INTERVAL = max(60, int(os.environ.get("RADIUS_INTERIM_INTERVAL", "300")))
RADIUS_COA_TIMEOUT = float(os.environ.get("RADIUS_COA_TIMEOUT", "2"))
RADIUS_COA_ATTEMPTS = int(os.environ.get("RADIUS_COA_ATTEMPTS", "3"))

# Operations (modules.ops): health endpoint, Prometheus metrics, report replica.
INSTALLED_APPS += ["modules.ops"]
MIDDLEWARE.insert(0, "modules.ops.middleware.OpsMiddleware")  # probes first, then timing
# Checks that must pass for /health to answer 200: any of database, broker, radius.
HEALTH_REQUIRED_CHECKS = env_list("HEALTH_REQUIRED_CHECKS", "database,broker")
HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT", "1"))
# Shared secret of the NAS entry for the portal host, used to send RADIUS Status-Server.
HEALTH_RADIUS_SECRET = os.environ.get("HEALTH_RADIUS_SECRET", "")
# /metrics and health details: these networks, or `Authorization: Bearer METRICS_BEARER_TOKEN`.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")
# Reverse proxies whose X-Forwarded-For (last entry) names the real client.
METRICS_TRUSTED_PROXIES = env_list("METRICS_TRUSTED_PROXIES", "127.0.0.0/8,::1/128")
# Report reads go to this replica when set (see config/db_routers.py).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_routers.ReplicaRouter"]
# Monthly partitions kept per partitioned table (modules/ops/partitions.py).
PARTITION_RETENTION_MONTHS = {
    "networking_authlog": int(os.environ.get("AUTH_LOG_RETENTION_MONTHS", "13")),
    "networking_radiussession": int(os.environ.get("SESSION_RETENTION_MONTHS", "13")),
}
REPLICA_READ_APPS = env_list("REPLICA_READ_APPS", "reports")
# A process without a web server (celery worker, RADIUS server) serves its own /metrics here.
METRICS_EXPORTER_PORT = int(os.environ.get("METRICS_EXPORTER_PORT", "0"))
METRICS_EXPORTER_ADDRESS = os.environ.get("METRICS_EXPORTER_ADDRESS", "127.0.0.1")

# Seconds an SMTP server or SMS gateway gets to answer (modules/notifications).
NOTIFICATION_TIMEOUT = float(os.environ.get("NOTIFICATION_TIMEOUT", "10"))
