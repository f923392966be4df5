# The Rightsizer server image: web (gunicorn), Celery worker and beat share it.
#   docker build -t rightsizer .        (docker compose up builds it too)

# The code as a wheel, built apart so the final image holds it once, in site-packages.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rightsizer rightsizer
COPY accounts accounts
COPY telemetry telemetry
COPY recommender recommender
COPY alerts alerts
COPY dashboard dashboard
COPY collectors collectors
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RIGHTSIZER_VAR_DIR=/var/lib/rightsizer RIGHTSIZER_STATIC_ROOT=/app/static \
    PROMETHEUS_MULTIPROC_DIR=/tmp/rightsizer-metrics
WORKDIR /app

# Dependencies from the lock alone (pinned, every file's hash checked): a code change does not
# rebuild this layer. Regenerate the lock from pyproject.toml as the README says.
COPY requirements/server.lock requirements/server.lock
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/server.lock

# The code, installed once and without dependencies (the lock's pins stand), then its static
# files collected, as root; the server runs as a user that cannot write them.
COPY --from=build /dist /tmp/dist
COPY manage.py ./
RUN pip install --no-cache-dir --no-deps /tmp/dist/*.whl && rm -rf /tmp/dist \
 && useradd --system --uid 10001 --home /var/lib/rightsizer rightsizer \
 && mkdir -p /var/lib/rightsizer /tmp/rightsizer-metrics \
 && SECRET_KEY=build-only RIGHTSIZER_VAR_DIR=/tmp/build-var env -u PROMETHEUS_MULTIPROC_DIR \
    python manage.py collectstatic --no-input -v0 \
 && rm -rf /tmp/build-var \
 && chown rightsizer /var/lib/rightsizer /tmp/rightsizer-metrics

USER rightsizer
VOLUME ["/var/lib/rightsizer"]
EXPOSE 8000
# Workers: WEB_CONCURRENCY (default 2); logs: one JSON object per line (rightsizer/gunicorn_conf.py).
CMD ["gunicorn", "-c", "python:rightsizer.gunicorn_conf", "rightsizer.wsgi"]
