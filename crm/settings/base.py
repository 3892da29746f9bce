"""Settings shared by every environment; values come from the environment (12-factor)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# Compose hands .env to the containers itself; reading it here is opt-in so a compose .env
# in a developer's checkout never redirects `make run` or `make test` to production services.
if env.bool("DJANGO_READ_DOT_ENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-development-key-not-for-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "simple_history",
    "axes",
    "branches",
    "customers",
    "interactions",
    "complaints",
    "quality",
    "consistency",
    "feedback",
    "crm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.middleware.RequestSizeLimitMiddleware",
    "crm.middleware.NulCharacterMiddleware",
    "crm.middleware.ReplicaPinMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.idempotency.IdempotencyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.middleware.AuditOriginMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "crm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    },
]

FORM_RENDERER = "crm.forms.FormRenderer"


def database_tuned(database: dict) -> dict:
    """PostgreSQL: parameters bound on the server and statements prepared after their 5th
    run on a connection (DB_PREPARED_STATEMENTS). Interactions are partitioned by month,
    and planning a query that reads every month (a sync page, a lookup by id) costs about
    0.1 ms a partition, more than running it; a prepared statement is planned once per
    connection. Turn it off behind a pooler that cannot keep prepared statements
    (PgBouncer in transaction mode before 1.21)."""
    if database["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DB_PREPARED_STATEMENTS", default=True
    ):
        database.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    return database


DATABASES = {
    "default": database_tuned(
        env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A kept connection is checked before each request reuses it, so one the server dropped
# (a database restart or failover) is replaced instead of failing that request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)


def replica_database(url: str, primary: dict) -> dict:
    """The read replica's settings: its own address, the primary's connection habits. In
    tests a mirror of the primary's test database (same name, which the standby replays)."""
    replica = database_tuned(env.db_url_config(url))
    replica["CONN_MAX_AGE"] = primary.get("CONN_MAX_AGE", 0)
    replica["CONN_HEALTH_CHECKS"] = primary.get("CONN_HEALTH_CHECKS", False)
    replica["TEST"] = {"MIRROR": "default"}
    return replica


# A read replica (a streaming standby of the primary) for dashboards, comparisons, exports
# and the survey-rate page; writes and the API's cursor sync stay on the primary
# (common.replica). REPLICA_READS=false keeps every read on the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = replica_database(env("DATABASE_REPLICA_URL"), DATABASES["default"])
DATABASE_ROUTERS = ["common.replica.ReplicaRouter"]
REPLICA_READS = env.bool("REPLICA_READS", default=True)
# A replica further behind than this (seconds of replay) is not read until it catches up.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
# After a browser writes, its reads stay on the primary this long (it sees its own change).
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "branches.User"
# Argon2 for new and re-hashed passwords; older hashes still verify and upgrade on sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# django-axes throttles sign-in: after AXES_FAILURE_LIMIT wrong passwords for one user name
# from one address, that pair is locked out for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Reverse proxies in front of the app whose X-Forwarded-For entries are trusted: the client
# address (for the throttle and the audit history) is then the one the outermost proxy saw.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "common.client_ip.client_address"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The languages of the staff pages (the user's saved choice, else the browser's) and of the
# survey (the customer's). Dates use one format per language (crm/formats/).
LANGUAGES = [("en", "English"), ("id", "Bahasa Indonesia")]
FORMAT_MODULE_PATH = ["crm.formats"]
# common is no installed app: its messages (the admin's shared filters) have their own catalogue.
LOCALE_PATHS = [BASE_DIR / "common" / "locale"]
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"  # stored and computed in UTC; each branch carries its own timezone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The apps' static/ folders, plus plotly.js taken from the plotly package itself.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "crm.staticfiles.PackagedFilesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Celery: with no broker configured (the embedded demo) tasks run in-process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Recompute the stale branch-days right after each write (the embedded demo, which runs no
# beat); elsewhere Celery beat's consistency-recompute does it every three minutes.
CONSISTENCY_RECOMPUTE_AFTER_WRITE = env.bool("CONSISTENCY_RECOMPUTE_AFTER_WRITE", default=False)
# Cases (SPEC §4a): the false-discovery rate their opening is controlled at, and how many
# complete periods back within the limits resolve one by itself.
CONSISTENCY_CASE_Q = env.float("CONSISTENCY_CASE_Q", default=0.05)
CONSISTENCY_CASE_QUIET_PERIODS = env.int("CONSISTENCY_CASE_QUIET_PERIODS", default=3)
CELERY_BEAT_SCHEDULE = {
    "webhook-deliveries": {"task": "crm.webhook_deliveries_send_due", "schedule": 30.0},
    "idempotency-purge": {"task": "crm.idempotency_records_purge", "schedule": 3600.0},
    "consistency-recompute": {"task": "consistency.dirty_days_recompute", "schedule": 180.0},
    "case-events-notify": {"task": "consistency.case_events_notify", "schedule": 300.0},
    "cases-weekly-digest": {
        "task": "consistency.cases_weekly_digest",
        "schedule": crontab(minute=0, hour=6, day_of_week=1),
    },
    "survey-invitations": {"task": "feedback.invitations_send_due", "schedule": 60.0},
    # Quality reviews (SPEC §8): last week's sample of every sampling rule, on Monday once
    # the week is over in every time zone (UTC-12 ends it at 12:00 UTC).
    "review-sampling": {
        "task": "quality.assignments_draw",
        "schedule": crontab(minute=30, hour=12, day_of_week=1),
    },
    # Complaints (SPEC §10): the type classifier learns again once enough new labels exist.
    "complaint-classifier": {
        "task": "complaints.classifier_retrain",
        "schedule": crontab(minute=40, hour=1),
    },
    # PostgreSQL: the interactions table's coming monthly partitions (a no-op on SQLite).
    "interaction-partitions": {
        "task": "interactions.partitions_ensure",
        "schedule": crontab(minute=17, hour=2),
    },
}

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "common.api.permissions.ScopePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["crm.throttling.CallerRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "common.api.errors.problem_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.api.negotiation.StrictContentNegotiation",
    "UNAUTHENTICATED_USER": None,
}
# Requests per minute for each API key (and each signed-in user) before 429 + Retry-After.
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="3000/min")
# Webhook deliveries are retried with exponential back-off for this long, then given up.
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
# Webhooks go only to public addresses (no loopback, private, link-local, multicast or
# reserved ones), checked when subscribing and on every connection. An on-premises chain
# whose receivers live on its own network turns this on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# The largest request body accepted (a bulk batch of 1 000 items fits); larger is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=10 * 1024 * 1024)
# API keys made without an explicit lifetime expire after this many days (0: never).
API_KEY_LIFETIME_DAYS = env.int("API_KEY_LIFETIME_DAYS", default=365)
# A rotated key keeps working this long, so the integration can switch without downtime.
API_KEY_ROTATION_GRACE_HOURS = env.int("API_KEY_ROTATION_GRACE_HOURS", default=24)

# Content Security Policy: scripts only from this site, never inline (the charts' data
# travels as JSON script blocks, which are not run). Plotly and htmx inject style rules,
# hence inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)  # one working day
SPECTACULAR_SETTINGS = {
    "TITLE": "Branch CRM API",
    "DESCRIPTION": "Customers, interactions and service consistency across a chain's branches.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "customers.models.Channel",
        "ChannelScopeEnum": "consistency.models.CHANNEL_SCOPES",
        "FlagStatusEnum": "consistency.models.FlagStatus",
        "CaseStatusEnum": "consistency.models.CaseStatus",
        "CellStatusEnum": "consistency.api.CELL_STATUSES",
        "SeverityEnum": "consistency.models.Severity",
        "ComplaintSeverityEnum": "complaints.models.Severity",
        "ComplaintStatusEnum": "complaints.models.Status",
        "PriorityAreaKindEnum": "consistency.priorities.AREA_KINDS",
        "KindEnum": "consistency.models.PeriodKind",  # the name it had before the collision
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.api.schema.add_problem_responses",
    ],
}

# Survey links in e-mails start with this (the public address of the web app).
SURVEY_BASE_URL = env("SURVEY_BASE_URL", default="http://127.0.0.1:8000")
# Requests to survey pages one client address may make per minute (guessing links).
SURVEY_RATE_PER_MINUTE = env.int("SURVEY_RATE_PER_MINUTE", default=30)

# Where seed_demo writes the planted divergence it built into the demo chain.
DEMO_TRUTH_FILE = Path(env("DEMO_TRUTH_FILE", default=str(BASE_DIR / "var" / "demo_truth.json")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # django-axes reports every sign-in at INFO; lockouts are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Country calling codes of the numbers staff type in national form ("0812 …" for +62 812 …,
# "07000 …" for +44 7000 …): the customer search reads a leading 0 as any of these.
PHONE_COUNTRY_CODES = env.list("PHONE_COUNTRY_CODES", default=["62", "44"])
