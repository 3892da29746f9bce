"""The embedded demo: SQLite by default, tasks in-process, e-mails written to var/mail/.

Debug is off by default so the demo shows the pages a user meets (the friendly 404 too);
DJANGO_DEBUG=true brings Django's debug pages back."""

from .base import *  # noqa: F403
from .base import BASE_DIR, CELERY_TASK_ALWAYS_EAGER, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # make run collects the static files first: hashed names (cached for a year) and gzipped
    # copies, as in production; without collectstatic the plain files are served.
    "staticfiles": {"BACKEND": "crm.staticfiles.DemoStaticFilesStorage"},
}
# One file per e-mail under var/mail/, so the server's own start-up line is not buried under
# the demo's alarm e-mails; EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend
# prints them instead.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
# No broker and no beat in the demo: what a user changes is recomputed in-process at once.
CONSISTENCY_RECOMPUTE_AFTER_WRITE = env.bool(
    "CONSISTENCY_RECOMPUTE_AFTER_WRITE", default=CELERY_TASK_ALWAYS_EAGER
)
# Files not collected (yet) are served straight from the apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Receivers on this machine (the demo's and the tests' own) are allowed.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=True)
