"""Settings, read from the environment.

DATABASE_URL  selects the database (default: SQLite file in the data directory)
SECRET_KEY    required when DEBUG is off
DEBUG         "1"/"true" for development; off by default outside `make demo`
ALLOWED_HOSTS comma-separated
BRANCHOPS_DATA_DIR  where SQLite, uploads and analytics files live (default ./var)
LDAP_SERVER_URI     turns on LDAP/AD sign-in (see the README)
EMAIL_HOST          turns on e-mail copies of notifications (EMAIL_PORT, EMAIL_HOST_USER, …)
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DEBUG = env_bool("DEBUG", False)
DATA_DIR = Path(os.environ.get("BRANCHOPS_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_INSECURE_DEV_KEY = "django-insecure-branchops-development-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_bool("BRANCHOPS_ALLOW_DEV_KEY", False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = _INSECURE_DEV_KEY

# The previous key(s) while rotating SECRET_KEY: sessions signed with them stay valid (docs/security.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "ninja",  # serves the API docs page from its bundled static files, not a CDN
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "branchops.core.third_party.SignInLockoutConfig",  # django-axes
    "template_partials",
    "django_tasks",
    "branchops.core.third_party.TaskResultsConfig",  # django-tasks-db
    "branchops.core",
    "branchops.org",
    "branchops.cases",
    "branchops.coordination",
    "branchops.dispatch",
    "branchops.queueing",
    "branchops.service",
    "branchops.workforce",
    "branchops.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "branchops.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "branchops.core.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "branchops.core.middleware.OutOfRangeNotFoundMiddleware",
]

ROOT_URLCONF = "branchops.urls"
WSGI_APPLICATION = "branchops.wsgi.application"

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
                "django.template.context_processors.i18n",
                "branchops.core.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'branchops.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes. IMMEDIATE takes the write lock when a
    # transaction begins, so a burst of writes queues (up to `timeout` seconds) instead of failing with
    # "database is locked" when a transaction that has read tries to write after another one committed.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20,
                                       "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "branchops.core.passwords.DifferentFromCurrentPassword"},
]

# Behind a reverse proxy: the client's address (for the lock-out and the API rate limit) is read from
# BRANCHOPS_CLIENT_IP_HEADER only on requests that come from one of BRANCHOPS_TRUSTED_PROXIES (addresses
# or networks, comma-separated); otherwise it is the connection's address. Default: no proxy trusted.
BRANCHOPS_TRUSTED_PROXIES = env_list("BRANCHOPS_TRUSTED_PROXIES")
BRANCHOPS_CLIENT_IP_HEADER = "HTTP_" + os.environ.get("BRANCHOPS_CLIENT_IP_HEADER", "X-Forwarded-For").upper().replace(
    "-", "_")
try:
    import ipaddress as _ipaddress

    for _proxy in BRANCHOPS_TRUSTED_PROXIES:
        _ipaddress.ip_network(_proxy, strict=False)
except ValueError as _exc:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"BRANCHOPS_TRUSTED_PROXIES: {_exc}") from None

# Lock an account+address out after repeated failed sign-ins.
AXES_CLIENT_IP_CALLABLE = "branchops.core.http.client_ip"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# API rate limits ("N/s", "N/min", "N/hour", "N/day"; empty turns one off): calls per signed-in user, and
# requests with an unknown token per client address. Counted in the default cache, so per process unless
# a shared cache is configured.
BRANCHOPS_API_RATE = os.environ.get("BRANCHOPS_API_RATE", "600/min")
BRANCHOPS_API_BAD_TOKEN_RATE = os.environ.get("BRANCHOPS_API_BAD_TOKEN_RATE", "60/min")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["branchops.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("BRANCHOPS_TESTING")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
# Ticket and device logs (Parquet, partitioned by month and outlet) and their roll-ups.
BRANCHOPS_QUEUE_DIR = Path(os.environ.get("BRANCHOPS_QUEUE_DIR", DATA_DIR / "queueing"))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# E-mail copies of notifications, sent by the worker, only where a mail server is configured.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "branchops@localhost")
BRANCHOPS_EMAIL_NOTIFICATIONS = bool(EMAIL_HOST) and env_bool("BRANCHOPS_EMAIL_NOTIFICATIONS", True)
BRANCHOPS_SITE_URL = os.environ.get("BRANCHOPS_SITE_URL", "http://127.0.0.1:8000")

# Security: safe defaults; production (DEBUG off) turns on HTTPS-only cookies and HSTS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts and styles come only from our own static files — no
# inline <script>, no on…= handlers, no style="…" attributes in templates (tests/core/test_csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Optional LDAP/AD sign-in, off unless LDAP_SERVER_URI is set.
from branchops.core.ldap import ldap_settings  # noqa: E402

_ldap = ldap_settings(os.environ)
if _ldap:
    globals().update(_ldap)
    AUTHENTICATION_BACKENDS.insert(1, "django_auth_ldap.backend.LDAPBackend")

BRANCHOPS_DEMO_PASSWORD = os.environ.get("BRANCHOPS_DEMO_PASSWORD", "Demo@2026bank")
PAGE_SIZE = 25
