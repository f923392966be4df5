# The Rightsizer server image: web (gunicorn), Celery worker and beat share it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RIGHTSIZER_VAR_DIR=/var/lib/rightsizer
WORKDIR /app

COPY pyproject.toml README.md ./
COPY rightsizer rightsizer
COPY telemetry telemetry
COPY recommender recommender
COPY alerts alerts
COPY dashboard dashboard
COPY collectors collectors
COPY manage.py ./
RUN pip install --no-cache-dir '.[server]' \
 && useradd --system --home /var/lib/rightsizer rightsizer \
 && mkdir -p /var/lib/rightsizer && chown rightsizer /var/lib/rightsizer \
 && SECRET_KEY=build-only python manage.py collectstatic --no-input -v0 \
 && chown -R rightsizer /var/lib/rightsizer

USER rightsizer
EXPOSE 8000
CMD ["gunicorn", "rightsizer.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
