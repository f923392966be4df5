"""The Celery app. Its configuration is Django's settings under the CELERY_ prefix."""

from __future__ import annotations

import logging
import os

from celery import Celery, signals

from rightsizer import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rightsizer.settings")

log = logging.getLogger("rightsizer.celery")

app = Celery("rightsizer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Task metrics (rightsizer.metrics): runs, failures and run time by task, and the last success
# of each in the database for the beat-lag gauges.
signals.task_prerun.connect(metrics.task_started, weak=False)
signals.task_postrun.connect(metrics.task_ended, weak=False)
signals.task_failure.connect(metrics.task_failed, weak=False)


@signals.worker_process_shutdown.connect(weak=False)
def _forget_pool_process(pid: int | None = None, **_: object) -> None:
    metrics.process_exited(pid or os.getpid())


@signals.worker_ready.connect(weak=False)
def _serve_worker_metrics(**_: object) -> None:
    """A worker on a machine without the web server serves its own task metrics."""
    from django.conf import settings
    from prometheus_client import start_http_server

    if settings.WORKER_METRICS_PORT:
        start_http_server(settings.WORKER_METRICS_PORT, registry=metrics.registry())


@signals.worker_ready.connect(weak=False)
def _quiet_term_handler(sender=None, **_: object) -> None:
    """Celery's SIGTERM handler prints "worker: Warm shutdown (MainProcess)" to the real stdout, past
    logging, so it is the one line of the worker's that is not JSON. The same handler without the print
    (a warm or, with REMAP_SIGTERM=SIGQUIT, cold shutdown as before); _log_shutdown says it as a log line."""
    from celery.apps.worker import install_worker_term_handler

    install_worker_term_handler(sender.controller, verbose=False)


@signals.worker_shutting_down.connect(weak=False)
def _log_shutdown(sig: str = "", how: str = "", exitcode: int = 0, **_: object) -> None:
    log.info("event=worker_shutdown how=%s signal=%s exitcode=%s", how.lower(), sig, exitcode)
