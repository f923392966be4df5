"""Rightsizer settings: one module, every value from the environment.

The defaults make a single machine work with nothing configured (SQLite and an
on-disk broker under var/). Production sets DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

from rightsizer.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RIGHTSIZER_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> tuple[str, bool]:
    """SECRET_KEY (or SECRET_KEY_FILE); else one generated once and kept in var/ (and True: generated)."""
    key = env_str("SECRET_KEY")
    if key:
        return key, False
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip(), True


def _recommender_thresholds(raw: str) -> dict:
    """The JSON object as given; recommender.checks validates names and bounds at start-up."""
    from django.core.exceptions import ImproperlyConfigured

    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"RIGHTSIZER_RECOMMENDER_THRESHOLDS is not JSON: {exc}") from None
    if not isinstance(values, dict):
        raise ImproperlyConfigured(
            'RIGHTSIZER_RECOMMENDER_THRESHOLDS must be a JSON object, e.g. {"target_util_pct": 60}'
        )
    return values


# Generated: right for `make run`; `check --deploy` warns (rightsizer.checks), as a deployment sets its own.
SECRET_KEY, SECRET_KEY_GENERATED = _secret_key()
DEBUG = env_bool("RIGHTSIZER_DEBUG", False)
ALLOWED_HOSTS = env_list("RIGHTSIZER_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("RIGHTSIZER_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("RIGHTSIZER_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves its bundled Swagger UI files, so the API docs need no CDN
    "csp",  # the Content-Security-Policy header
    "axes",  # login throttling: failed logins by (username, address), then a cool-off
    "accounts",
    "telemetry",
    "recommender",
    "alerts",
    "dashboard",
    "rightsizer",  # TaskRun: when each periodic task last ran (the beat-lag gauges)
]

MIDDLEWARE = [
    "rightsizer.metrics.IngestMetrics",  # first, so it times and counts every ingest answer, refusals too
    "rightsizer.ingest_path.IngestPath",  # answers POST /api/v1/ingest past the rest (headers-only middleware kept)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.middleware.ViewerTimezone",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into its 429 page; last, as axes asks
]

ROOT_URLCONF = "rightsizer.urls"
WSGI_APPLICATION = "rightsizer.wsgi.application"

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
                "dashboard.context_processors.simulated_hosts",  # the demo banner on every page
            ],
        },
    },
]

# --- Database: PostgreSQL for production, SQLite under var/ as the embedded default.
DATABASE_URL = env_str("DATABASE_URL")
SQLITE_OPTIONS = {
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the write lock up
    # front instead of failing on upgrade; the busy timeout waits for it instead of "locked".
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("RIGHTSIZER_DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # A sqlite:// URL gets the embedded default's setup too (two first pushes at once were a 500).
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "rightsizer.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
            # A file, not Django's shared-cache in-memory default, whose table
            # locks ignore the busy timeout and fail concurrent-ingest tests.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits): Redis when configured, else per process.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The lockout check first, then the password (django-axes; the login page and the admin both).
AUTHENTICATION_BACKENDS = [
    "rightsizer.login_throttle.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The image collects them beside the code (/app/static), not into the state volume, where an
# upgrade would find the previous version's files.
STATIC_ROOT = Path(env_str("RIGHTSIZER_STATIC_ROOT", str(VAR_DIR / "static"))).resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# collectstatic (run by `make run` and the Dockerfile) writes hashed, compressed
# copies and a manifest; before it has run (tests, a first runserver) the plain
# storage and WhiteNoise's finders serve the files from the apps.
_MANIFEST = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not _MANIFEST

# --- Content-Security-Policy (django-csp): scripts, styles and everything else from this
# server only; no inline script, no style attribute (templates use classes, bars take their
# width from app.js), no eval. Chart.js draws on canvas and sets sizes from its own file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # the empty data: favicon, the API docs' icons
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Login throttling (django-axes): this many wrong passwords for one username from one
# address lock that pair out for the cool-off. A login during the lockout, even with the
# right password, is refused (429) and does not extend it; a successful login resets the count.
# An admin unlocks early with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env_int("RIGHTSIZER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("RIGHTSIZER_LOGIN_COOLOFF_S", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # a mistyping colleague does not lock out the office
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "rightsizer.login_throttle.client_ip"
AXES_COOLOFF_MESSAGE = "Too many failed logins for this account from your address: try again later, or ask an admin."
AXES_VERBOSE = False  # its multi-line banner at start; each lockout is still logged

# --- Ingest API limits (DESIGN.md, "The wire contract").
INGEST_MAX_BODY_BYTES = env_int("RIGHTSIZER_INGEST_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1024)
INGEST_MAX_DECOMPRESSED_BYTES = env_int("RIGHTSIZER_INGEST_MAX_DECOMPRESSED_BYTES", 32 * 1024 * 1024, minimum=1024)
INGEST_MAX_SAMPLES = env_int("RIGHTSIZER_INGEST_MAX_SAMPLES", 20_000, minimum=1)
INGEST_MAX_AGE_DAYS = env_float("RIGHTSIZER_INGEST_MAX_AGE_DAYS", 30.0, minimum=0.0)
INGEST_MAX_FUTURE_S = env_float("RIGHTSIZER_INGEST_MAX_FUTURE_S", 300.0, minimum=0.0)
# Pushes per minute allowed for one (agent token, host); 0 turns the limit off.
INGEST_RATE_LIMIT_PER_MIN = env_int("RIGHTSIZER_INGEST_RATE_LIMIT_PER_MIN", 120, minimum=0)
# New hosts one agent token may register in an hour (telemetry.ratelimit_hosts); 0 turns the limit off.
INGEST_NEW_HOSTS_PER_HOUR = env_int("RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR", 1000, minimum=0)
# Host.last_seen and AgentToken.last_used_at are written at most this often.
# A host not heard from for this long shows as offline.
HOST_OFFLINE_AFTER_S = env_int("RIGHTSIZER_HOST_OFFLINE_AFTER_S", 300, minimum=30)
LAST_SEEN_RESOLUTION_S = env_int("RIGHTSIZER_LAST_SEEN_RESOLUTION_S", 60, minimum=1)
# A host pushing every 30 s has a last_seen up to RESOLUTION + 30 s old: a shorter offline limit would
# show (and alert) healthy hosts as offline.
if HOST_OFFLINE_AFTER_S < LAST_SEEN_RESOLUTION_S + 60:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"RIGHTSIZER_HOST_OFFLINE_AFTER_S={HOST_OFFLINE_AFTER_S} must be at least RIGHTSIZER_LAST_SEEN_RESOLUTION_S "
        f"({LAST_SEEN_RESOLUTION_S}) + 60 s, or hosts that push normally read as offline"
    )
# Group commit (telemetry.groupcommit): concurrent pushes in one web process share a write.
# A write waits at most GROUP_WAIT_MS for company and holds at most GROUP_MAX_ROWS rows;
# a request waits GROUP_TIMEOUT_S for its write before answering 503.
INGEST_GROUP_COMMIT = env_bool("RIGHTSIZER_INGEST_GROUP_COMMIT", True)
INGEST_GROUP_WAIT_MS = env_float("RIGHTSIZER_INGEST_GROUP_WAIT_MS", 2.0, minimum=0.0)
INGEST_GROUP_MAX_ROWS = env_int("RIGHTSIZER_INGEST_GROUP_MAX_ROWS", 20_000, minimum=1)
INGEST_GROUP_TIMEOUT_S = env_float("RIGHTSIZER_INGEST_GROUP_TIMEOUT_S", 25.0, minimum=1.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(INGEST_MAX_BODY_BYTES, 2_621_440)

# --- Rollups and retention (per tier).
RETENTION_RAW_DAYS = env_int("RIGHTSIZER_RETENTION_RAW_DAYS", 14, minimum=1)
RETENTION_5M_DAYS = env_int("RIGHTSIZER_RETENTION_5M_DAYS", 90, minimum=1)
RETENTION_1H_DAYS = env_int("RIGHTSIZER_RETENTION_1H_DAYS", 730, minimum=1)
# A 5-minute period is rolled once it ended this long ago (agents push every 30 s
# by default); samples that arrive later mark their host for a re-roll.
ROLLUP_GRACE_S = env_int("RIGHTSIZER_ROLLUP_GRACE_S", 180, minimum=0)
# A sample covers the time since the previous one, up to this; a longer gap is missing data.
ROLLUP_MAX_GAP_S = env_int("RIGHTSIZER_ROLLUP_MAX_GAP_S", 900, minimum=1)

# --- Recommender: rule thresholds (recommender/thresholds.py lists them), savings.
# RIGHTSIZER_RECOMMENDER_THRESHOLDS takes a JSON object of the keys to change, e.g.
# {"target_util_pct": 60}: the base under the fleet-wide values admins set on the settings page, and
# those under each deployment's overrides (recommender/in_force.py layers them).
RECOMMENDER_THRESHOLDS = _recommender_thresholds(env_str("RIGHTSIZER_RECOMMENDER_THRESHOLDS"))
GRID_KG_CO2_PER_KWH = env_float("RIGHTSIZER_GRID_KG_CO2_PER_KWH", 0.4, minimum=0.0)
# CPU-only hosts without a price of their own: AWS m7i.large, $0.1008/h for 2 vCPU and 8 GiB, us-east-1 on-demand.
VCPU_HOURLY_USD = env_float("RIGHTSIZER_VCPU_HOURLY_USD", 0.0504, minimum=0.0)
# A dismissed recommendation comes back when its monthly saving moves by more than this share.
RECOMMENDER_MATERIAL_CHANGE = env_float("RIGHTSIZER_RECOMMENDER_MATERIAL_CHANGE", 0.25, minimum=0.0)

# --- Celery: every setting here, under the CELERY_ prefix.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # The embedded broker: messages are files under var/celery/, good for one machine.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"  # kombu's default is ./control, in whatever the cwd is
    for _d in (_queue_dir, _processed_dir, _control_dir):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"  # the host is ignored; without one kombu warns at every connect
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("RIGHTSIZER_CELERY_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("RIGHTSIZER_TASK_SOFT_TIME_LIMIT_S", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# However many beats run (a worker with --beat on each machine), one sends: rightsizer/beat.py.
CELERY_BEAT_SCHEDULER = "rightsizer.beat.SingleBeatScheduler"
CELERY_BEAT_SCHEDULE = {
    # Roll closed 5-minute periods and hours; re-roll hosts whose samples came late.
    "roll-up": {
        "task": "telemetry.tasks.roll_up",
        "schedule": crontab(),  # every minute
        "options": {"expires": 90},
    },
    # Run the rules over the window and update the recommendations; hourly, after
    # the hour's rollup (ROLLUP_GRACE_S) is in.
    "analyze": {
        "task": "recommender.tasks.analyze",
        "schedule": crontab(minute=7),
        "options": {"expires": 90 * 60},
    },
    # The fleet page's per-host figures: cost, memory need, 24 h utilization, energy.
    "summarize-fleet": {
        "task": "recommender.tasks.summarize_fleet",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 450},
    },
    # Alerts: hosts offline and back, users waiting (the 5-minute rollups), new and grown savings, budgets.
    "alerts-watch": {
        "task": "alerts.tasks.watch_fleet",
        "schedule": crontab(),  # every minute
        "options": {"expires": 90},
    },
    # The weekly digest, for those who want one mail, not twenty.
    "alerts-weekly-digest": {
        "task": "alerts.tasks.weekly_digest",
        "schedule": crontab(minute=0, hour=8, day_of_week="mon"),
        "options": {"expires": 36 * 3600},
    },
    # Hosts registered since the last summary: costed within a minute of their first push
    # (the fleet page would show them unpriced until the 5-minute run). One query when none.
    "summarize-new-hosts": {
        "task": "recommender.tasks.summarize_new",
        "schedule": crontab(),  # every minute
        "options": {"expires": 90},
    },
    # The trends page's days, each host's UTC day summed from the hourly rollups: the day that just ended, or
    # all 90 on a new install (a page sums only the latest while someone waits). Hourly, after the rollup.
    "sum-trend-days": {
        "task": "dashboard.tasks.sum_trend_days",
        "schedule": crontab(minute=23),
        "options": {"expires": 90 * 60},
    },
    # Prune raw samples, 5-minute and hourly rollups past their retention; daily, off the hour.
    "apply-retention": {
        "task": "telemetry.tasks.apply_retention",
        "schedule": crontab(minute=17, hour=3),
        "options": {"expires": 36 * 3600},  # 1.5 days
    },
}

# The worker logs through LOGGING below, like the web server, instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker on another machine serves its task metrics on this port (0: none; with make run the
# web server's /metrics already shows them, both counting under one PROMETHEUS_MULTIPROC_DIR).
WORKER_METRICS_PORT = env_int("RIGHTSIZER_WORKER_METRICS_PORT", 0, minimum=0)

# --- /metrics (Prometheus): open unless this is set; then scrapes send "Authorization: Bearer <it>".
METRICS_TOKEN = env_str("RIGHTSIZER_METRICS_TOKEN")

# --- Alerts (alerts/, README "Alerts"). Mail goes through Django's email framework: SMTP when
# RIGHTSIZER_SMTP_HOST is set, else the console backend (the embedded default prints mails to the log).
EMAIL_HOST = env_str("RIGHTSIZER_SMTP_HOST")
EMAIL_BACKEND = env_str("RIGHTSIZER_EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("RIGHTSIZER_SMTP_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("RIGHTSIZER_SMTP_USER")
EMAIL_HOST_PASSWORD = env_str("RIGHTSIZER_SMTP_PASSWORD")  # or RIGHTSIZER_SMTP_PASSWORD_FILE
EMAIL_USE_TLS = env_bool("RIGHTSIZER_SMTP_STARTTLS", True)
EMAIL_USE_SSL = env_bool("RIGHTSIZER_SMTP_SSL", False)
DEFAULT_FROM_EMAIL = env_str("RIGHTSIZER_ALERTS_FROM", "rightsizer@localhost")
# Webhook and Slack URLs resolving to loopback, link-local or private addresses are refused unless this is on.
ALERTS_ALLOW_PRIVATE_URLS = env_bool("RIGHTSIZER_ALERTS_ALLOW_PRIVATE_URLS", False)
ALERTS_TIMEOUT_S = env_float("RIGHTSIZER_ALERTS_TIMEOUT_S", 10.0, minimum=0.1)  # one whole request, or one mail
ALERTS_MAX_ATTEMPTS = env_int("RIGHTSIZER_ALERTS_MAX_ATTEMPTS", 6, minimum=1)
ALERTS_BACKOFF_S = env_float("RIGHTSIZER_ALERTS_BACKOFF_S", 30.0, minimum=0.0)  # 30 s, 1, 2, 4, 8 min
# A host's offline/back alerts: one pair per window, then one summary of the rest; users-waiting alerts:
# one per server per window.
ALERTS_FLAP_WINDOW_S = env_int("RIGHTSIZER_ALERTS_FLAP_WINDOW_S", 3600, minimum=60)
# Users waiting: the mean of a server's raw samples over this many seconds (the watcher runs every minute).
ALERTS_SATURATION_WINDOW_S = env_int("RIGHTSIZER_ALERTS_SATURATION_WINDOW_S", 120, minimum=10)

LOG_LEVEL = env_str("RIGHTSIZER_LOG_LEVEL", "INFO").upper()
# json: one JSON object per event (web, worker, beat, gunicorn's access log, the agent); kv: key=value lines.
LOG_FORMAT = env_str("RIGHTSIZER_LOG_FORMAT", "json").strip().lower()
if LOG_FORMAT not in ("json", "kv"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"RIGHTSIZER_LOG_FORMAT={LOG_FORMAT!r}: use json or kv")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # Escapes control characters, so a hostname from an agent cannot forge a log line.
        "kv": {
            "()": "rightsizer.logging_kv.KeyValueFormatter",
            "format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        },
        # ensure_ascii: every control character and line break is a \uXXXX escape (collectors/jsonlog.py).
        "json": {"()": "collectors.jsonlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Transport. Behind a TLS-terminating proxy (the compose file's web service), trust its
# header, keep cookies to HTTPS, send plain-HTTP requests to HTTPS and pin HTTPS with HSTS.
BEHIND_TLS_PROXY = env_bool("RIGHTSIZER_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # The container's health check asks http://127.0.0.1:8000/healthz without the proxy.
    # Prometheus scrapes /metrics inside the network too.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS only means something over HTTPS; browsers remember it for this long (1 year), so a
# first deployment may start lower. 0 sends no header.
SECURE_HSTS_SECONDS = env_int("RIGHTSIZER_HSTS_SECONDS", 31_536_000 if BEHIND_TLS_PROXY else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("RIGHTSIZER_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("RIGHTSIZER_HSTS_PRELOAD", False)
# The preload list takes registrable domains (example.com), and the owner of the domain
# submits it; the dashboard usually lives on a subdomain, so its absence is no finding here.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
