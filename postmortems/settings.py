"""Settings for postmortems, read from the environment.

SQLite is the zero-set-up default; DATABASE_URL switches to PostgreSQL. With DEBUG off the
site refuses to start without SECRET_KEY and ALLOWED_HOSTS, so production can never run on the
development key by accident.
"""

from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path

import dj_database_url
import django_cache_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from postmortems.environment import env, media_storage

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env("DEBUG", True)

SECRET_KEY = env("SECRET_KEY", "")
ALLOWED_HOSTS = env("ALLOWED_HOSTS", [])
if DEBUG:
    # A throwaway key for local development only; DEBUG off demands a real one below.
    SECRET_KEY = SECRET_KEY or "development-only-insecure-key"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured("Set SECRET_KEY: DEBUG is off.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma-separated): DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    # Search expressions (SearchVector, SearchHeadline); harmless on SQLite.
    "django.contrib.postgres",
    "django_filters",
    "reversion",
    "axes",
    "outages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # What shared caches in front may keep: `private, no-store` unless the page cache says so.
    "outages.front_cache.CacheHeaders",
    # An editor's save stores the articles it changed before its answer and its purges.
    "outages.web.storing.StoreChangedArticles",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Fresh stored pages leave here, with the headers above, skipping everything below.
    "outages.page_cache.ServeHits",
    # Compresses pages, feeds and JSON; WhiteNoise above serves static files precompressed.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETag from the body on every page and feed, and 304 for If-None-Match/If-Modified-Since.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Readers get the site's own 404 and 500 pages even under DEBUG; staff keep the debug pages.
    "postmortems.error_pages.ReaderErrorPages",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses logins from a locked-out client before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "postmortems.urls"

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

WSGI_APPLICATION = "postmortems.wsgi.application"
# Django's, without rendering a template for each field's empty error list.
FORM_RENDERER = "postmortems.form_renderer.FormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer must become a 503 within seconds, not a hung request.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env("DB_CONNECT_TIMEOUT", 3)

# DATABASE_POOLING=transaction when DATABASE_URL points at PgBouncer in transaction pooling mode:
# each transaction may then run on another server connection, so Django must not use server-side
# cursors (QuerySet.iterator() declares one in a transaction and reads it in the next). Nothing
# else is needed: psycopg2 prepares no statements, Django sets no session state but the time
# zone (which PgBouncer tracks), and connections to PgBouncer stay persistent and health-checked.
DATABASE_POOLING = env("DATABASE_POOLING", "")
if DATABASE_POOLING not in {"", "transaction"}:
    raise ImproperlyConfigured(
        f"DATABASE_POOLING must be 'transaction' or unset, not {DATABASE_POOLING!r}."
    )
if DATABASE_POOLING:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOLING is for PostgreSQL behind PgBouncer.")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

# Local memory by default; CACHE_URL=redis://host:6379/0 shares pages and their invalidation
# between several app servers (each process has its own local memory).
CACHES = {"default": django_cache_url.parse(env("CACHE_URL", "locmem://postmortems"))}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 20000
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, without a new Redis client object per operation.
    CACHES["default"]["BACKEND"] = "postmortems.redis_cache.RedisCache"
# How long a rendered page may be kept at most; changes invalidate it long before that.
PAGE_CACHE_SECONDS = env("PAGE_CACHE_SECONDS", 600)
# A page that misses is rendered by one request at a time: the others get the previous version,
# kept this much longer, or wait this long for the one render before rendering it themselves.
PAGE_CACHE_STALE_SECONDS = env("PAGE_CACHE_STALE_SECONDS", 86400)
PAGE_CACHE_WAIT_SECONDS = env("PAGE_CACHE_WAIT_SECONDS", 5.0)
# How long the renderer's lock lasts at most: a render taking longer lets a second one start.
PAGE_CACHE_RENDER_SECONDS = env("PAGE_CACHE_RENDER_SECONDS", 30)

# A shared HTTP cache in front (Varnish, a CDN; outages/front_cache.py) may keep each page the
# page cache stores for FRONT_CACHE_SECONDS (s-maxage), serve it stale for
# FRONT_CACHE_STALE_WHILE_REVALIDATE seconds while fetching the next, and for
# FRONT_CACHE_STALE_IF_ERROR seconds while the app fails; a reader page's 404 or 410 for
# FRONT_CACHE_MISSING_SECONDS. Changes purge the front caches in FRONT_CACHE_PURGE_URLS
# (comma-separated; none: nothing is purged, so keep FRONT_CACHE_SECONDS short).
FRONT_CACHE_SECONDS = env("FRONT_CACHE_SECONDS", 60)
FRONT_CACHE_STALE_WHILE_REVALIDATE = env("FRONT_CACHE_STALE_WHILE_REVALIDATE", 30)
FRONT_CACHE_STALE_IF_ERROR = env("FRONT_CACHE_STALE_IF_ERROR", 86400)
FRONT_CACHE_MISSING_SECONDS = env("FRONT_CACHE_MISSING_SECONDS", 10)
# Each entry's scheme says the kind (outages/front_purges.py): http(s)://… is Varnish,
# fastly://SERVICE_ID and cloudflare://ZONE_ID the CDNs' APIs, with their tokens from these.
FRONT_CACHE_PURGE_URLS = env("FRONT_CACHE_PURGE_URLS", [])
FASTLY_API_TOKEN = env("FASTLY_API_TOKEN", "")
CLOUDFLARE_API_TOKEN = env("CLOUDFLARE_API_TOKEN", "")
purge_tokens = {
    "http": True,
    "https": True,
    "fastly": FASTLY_API_TOKEN,
    "cloudflare": CLOUDFLARE_API_TOKEN,
}
for url in FRONT_CACHE_PURGE_URLS:
    scheme, _, where = url.partition("://")
    if scheme not in purge_tokens or not where or " " in where:
        raise ImproperlyConfigured(
            "FRONT_CACHE_PURGE_URLS entries are http(s)://… (Varnish), fastly://SERVICE_ID or "
            f"cloudflare://ZONE_ID, not {url!r}."
        )
    if not purge_tokens[scheme]:
        raise ImproperlyConfigured(f"{url} needs {scheme.upper()}_API_TOKEN.")
FRONT_CACHE_PURGE_TIMEOUT = env("FRONT_CACHE_PURGE_TIMEOUT", 2.0)  # seconds, per attempt
FRONT_CACHE_PURGE_ATTEMPTS = 3
FRONT_CACHE_PURGE_RETRY_SECONDS = 0.5  # before the second attempt, doubling after
# Purges are sent by a thread of their own, so an editor's save never fails on them; its answer
# waits this long at most for them to be sent, so the editor then sees the new page everywhere.
FRONT_CACHE_PURGE_IN_BACKGROUND = True
FRONT_CACHE_PURGE_WAIT = env("FRONT_CACHE_PURGE_WAIT", 1.0)

# With Redis and no front cache, each process also keeps the stored pages and tags' versions it
# read, dropped when any process changes them (postmortems/near_cache.py): a hit then makes no
# round trip. Behind a front cache it is always off: a purge's refetch must never meet an old
# copy. The prefixes are outages/page_cache.py's page and tag keys.
NEAR_CACHE = env("NEAR_CACHE", True) and not FRONT_CACHE_PURGE_URLS
if NEAR_CACHE and CACHES["default"]["BACKEND"] == "postmortems.redis_cache.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {})["near_keys"] = ["pm:page:", "pm:tag:"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Figures editors upload. Pages always reference them under MEDIA_URL on this site, and a view
# (outages.web.media) serves them from the storage with safe headers, so Markdown stays valid
# when the storage changes and a bucket can stay private. MEDIA_URL is a path, not a setting.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": media_storage(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development (and tests) WhiteNoise serves straight from the app and static folders.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one user name from
# one address, that pair is refused for AXES_COOLOFF_MINUTES; and after as many failures from one
# address, whatever names they tried, that address is refused too, so trying name after name
# gains nothing. Neither key is the name alone: a stranger cannot lock a colleague out from
# elsewhere.
AXES_FAILURE_LIMIT = env("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# A successful login would clear every failure its keys match, the address's included: anyone
# with an account could then sign in between guesses and never reach the limit. Failures only
# expire after the cool-off.
AXES_RESET_ON_SUCCESS = False
# After signing in, an unsafe or missing ?next= leads to the admin, the only signed-in area
# (Django's default, /accounts/profile/, does not exist here).
LOGIN_REDIRECT_URL = "admin:index"

# Behind a proxy every request comes from the proxy's address, so locking on it would let a
# stranger lock an editor out from anywhere. The client's address is the one the proxy itself
# adds to PROXY_CLIENT_IP_HEADER: the last entry, or PROXY_COUNT entries from the end when
# several proxies each add one. Without a proxy, that header is the client's to forge: unused.
BEHIND_PROXY = env("BEHIND_PROXY", False)
PROXY_CLIENT_IP_HEADER = env("PROXY_CLIENT_IP_HEADER", "X-Forwarded-For")
PROXY_COUNT = env("PROXY_COUNT", 1)
if PROXY_COUNT < 1:
    raise ImproperlyConfigured(f"PROXY_COUNT must be 1 or more, not {PROXY_COUNT}.")
if BEHIND_PROXY:
    AXES_CLIENT_IP_CALLABLE = "postmortems.client_address.client_address"

SESSION_COOKIE_HTTPONLY = True
# Show editor names in the public change log? Off by default: readers see dates and changes.
PUBLIC_CHANGE_LOG_NAMES = env("PUBLIC_CHANGE_LOG_NAMES", False)

# No inline script or style anywhere, and nothing from other origins: even if a sanitiser bug let
# markup through, the browser would run none of it. The admin works under the same policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not DEBUG:
    # Production is HTTPS unless HTTPS=false says otherwise (e.g. serving on 127.0.0.1 to measure).
    HTTPS = env("HTTPS", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env("SECURE_COOKIES", HTTPS)
    SECURE_SSL_REDIRECT = HTTPS
    # Probes come over plain HTTP from the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env("HSTS_SECONDS", 31536000) if HTTPS else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env("HSTS_INCLUDE_SUBDOMAINS", True)
    # The preload directive only consents to browsers' list; joining it is a separate step.
    SECURE_HSTS_PRELOAD = env("HSTS_PRELOAD", True)
    if BEHIND_PROXY:
        # Only behind a proxy that sets this header itself; otherwise clients could forge it.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Who gets an email for each 500 (DEBUG off): "Name <address>" or plain addresses, comma-separated.
# Fetching status pages and cited sources (outages/interchange/fetching.py). Addresses on
# loopback, private or link-local networks are refused unless FETCH_ALLOW_PRIVATE is set, so that
# whoever configures a status page cannot make the server probe its own network.
FETCH_TIMEOUT = env("FETCH_TIMEOUT", 10.0)  # seconds, to connect and between bytes
FETCH_MAX_BYTES = env("FETCH_MAX_BYTES", 20 * 1024 * 1024)
FETCH_MIN_INTERVAL = env("FETCH_MIN_INTERVAL", 0.5)  # seconds between requests to one host
FETCH_ALLOW_PRIVATE = env("FETCH_ALLOW_PRIVATE", False)
# Sites that are asked politely can tell who asks: name your own address here in production.
FETCH_USER_AGENT = env(
    "FETCH_USER_AGENT", "postmortems/1.0 (a public knowledge base of cloud outages)"
)

ADMINS = getaddresses([env("ADMINS", "")])
if any("@" not in address for _, address in ADMINS):
    raise ImproperlyConfigured(f"ADMINS must be email addresses, not {env('ADMINS', '')!r}.")
SERVER_EMAIL = env("SERVER_EMAIL", "root@localhost")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env("EMAIL_USE_TLS", False)

# Errors, security warnings and the app's own messages go to stderr as one JSON object per line
# (time, level, logger, message, traceback), which log collectors read without a parser of their
# own. Each 500 also goes to ADMINS by email when DEBUG is off. A 503 of a lost database is one
# line naming the error, without a traceback (health.DatabaseUnavailableFilter).
LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "database_unavailable": {"()": "postmortems.health.DatabaseUnavailableFilter"},
    },
    "formatters": {"json": {"()": "postmortems.log_format.JSONFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json"},
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false"],
            "level": "ERROR",
        },
    },
    "loggers": {
        "django.request": {
            "handlers": ["stderr", "mail_admins"],
            "filters": ["database_unavailable"],
            "level": "WARNING",
            "propagate": False,
        },
        "django.security": {
            "handlers": ["stderr", "mail_admins"],
            "level": "WARNING",
            "propagate": False,
        },
        "outages": {"handlers": ["stderr"], "level": LOG_LEVEL},
        "postmortems": {"handlers": ["stderr"], "level": LOG_LEVEL},
    },
}
