"""gunicorn's settings for the web server: `gunicorn -c python:rightsizer.gunicorn_conf rightsizer.wsgi`.

Flags on the command line still win (make run passes its own --bind and --workers).
"""

from __future__ import annotations

import os

from rightsizer import metrics
from rightsizer.env import env_bool

bind = os.environ.get("RIGHTSIZER_BIND", "0.0.0.0:8000")
# WEB_CONCURRENCY is the usual name for it on container platforms; 2 sync workers per core is typical.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads: a worker serves several pushes at once, so they share one database write
# (telemetry.groupcommit); a sync worker would serve one at a time, each push committing alone.
worker_class = "gthread"
threads = int(os.environ.get("RIGHTSIZER_WEB_THREADS", "8"))
# Agents push every 30 s and wait up to 30 s for the answer; past that the request is lost anyway.
timeout = 30
graceful_timeout = 20  # SIGTERM: finish the pushes in flight (the soak benchmark restarts this way)
accesslog = "-"
_format = os.environ.get("RIGHTSIZER_LOG_FORMAT", "json").strip().lower()
# gunicorn's own log and its access log in the server's format: one JSON object per request.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "collectors.jsonlog.JsonFormatter"},
        "kv": {
            "()": "rightsizer.logging_kv.KeyValueFormatter",
            "format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        },
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": _format, "stream": "ext://sys.stderr"},
        "stdout": {"class": "logging.StreamHandler", "formatter": _format, "stream": "ext://sys.stdout"},
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        # No level here: gunicorn's own --log-level (make run: warning) and the access log's INFO stand.
        "gunicorn.error": {"handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "propagate": False},
    },
}
# RIGHTSIZER_ACCESS_LOG=false (make demo sets it): requests are not logged, gunicorn's warnings still are.
if not env_bool("RIGHTSIZER_ACCESS_LOG", True):
    logconfig_dict["loggers"]["gunicorn.access"]["level"] = "WARNING"


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """A worker that died leaves its live gauges behind in PROMETHEUS_MULTIPROC_DIR; its counters stay."""
    metrics.process_exited(worker.pid)
