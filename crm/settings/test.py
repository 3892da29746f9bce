"""Test settings: SQLite unless DATABASE_URL names another database."""

from .base import *  # noqa: F403
from .base import database_tuned, env, replica_database

DEBUG = False
SECRET_KEY = "test-only-secret-key"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES = {"default": database_tuned(env.db("DATABASE_URL", default="sqlite:///:memory:"))}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}
# CI's PostgreSQL pass adds a real streaming replica (scripts/pg_replica.sh). The tests that
# mean to read from it turn REPLICA_READS on; every other test's data is uncommitted, which
# a replica never sees.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = replica_database(env("DATABASE_REPLICA_URL"), DATABASES["default"])
REPLICA_READS = False
# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Receivers on this machine (the demo's and the tests' own) are allowed.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=True)
