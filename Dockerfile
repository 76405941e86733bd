# Mesh Portal production image: gunicorn serving mesh_portal.wsgi, static files by WhiteNoise.
# The same image runs the Celery worker and beat (see docker-compose.yml).
#
#   docker build -t mesh-portal .
#   docker run --env-file .env -p 8000:8000 mesh-portal
#
# Required at run time: SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS (see .env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=mesh_portal.settings.production \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=3

WORKDIR /app

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself (see .dockerignore for what stays out: .venv, var/, .env, .git …).
# Editable, so settings resolve BASE_DIR (templates/, static/) to /app.
COPY . .
RUN pip install --no-deps -e . \
 && mkdir -p /app/var \
 && chown app:app /app/var

# Static files are collected at build time. Production settings insist on these variables, so
# placeholders are passed to this one command only; nothing connects to them.
RUN SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000

# mesh_portal/gunicorn.conf.py: sync workers, one per core plus one (WEB_CONCURRENCY overrides), preloaded.
CMD ["gunicorn", "mesh_portal.wsgi", "-c", "mesh_portal/gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
