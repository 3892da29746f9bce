# Production image: gunicorn by default; docker-compose.yml reuses it for the Celery worker and beat.
FROM python:3.11-slim

# PYTHONPATH: every entry point (manage.py, gunicorn, celery) imports the code from /app, so
# BASE_DIR, and with it STATIC_ROOT=/app/staticfiles built below, is the same for all of them.
# WEB_CONCURRENCY is gunicorn's own worker-count variable; override it at run time.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=crm.settings.production \
    WEB_CONCURRENCY=3

# Unprivileged runtime user. It needs a writable home: gunicorn puts its control socket there.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, in their own layer, so code changes don't reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Only what runs in production is copied (no .env, .venv, db.sqlite3, tests or .git).
# Keep this list in step with [tool.setuptools.packages.find] in pyproject.toml.
COPY manage.py ./
COPY crm ./crm
COPY common ./common
COPY branches ./branches
COPY customers ./customers
COPY interactions ./interactions
COPY complaints ./complaints
COPY quality ./quality
COPY consistency ./consistency
COPY feedback ./feedback
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && python -m compileall -q /app

# collectstatic imports the production settings, which refuse to load without a secret key and
# allowed hosts: give this one step a random, throwaway key (never stored in the image) and a
# dummy host. The real values come from the environment at run time.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input

# Numeric, so orchestrators can verify the image does not run as root.
USER 10001:10001

EXPOSE 8000

CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
