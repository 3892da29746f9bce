"""The embedded demo: SQLite by default, tasks in-process, debug on."""

from .base import *  # noqa: F403
from .base import CELERY_TASK_ALWAYS_EAGER, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# No broker and no beat in the demo: what a user changes is recomputed in-process at once.
CONSISTENCY_RECOMPUTE_AFTER_WRITE = env.bool(
    "CONSISTENCY_RECOMPUTE_AFTER_WRITE", default=CELERY_TASK_ALWAYS_EAGER
)
# Serve static files straight from the apps (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Receivers on this machine (the demo's and the tests' own) are allowed.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=True)
