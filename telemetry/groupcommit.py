"""Group commit: the pushes a web process serves at once share one database write.

A request validates its batch and resolves its ids in its own thread, then hands
the batch to this process's writer and waits. The writer takes everything queued
(up to RIGHTSIZER_INGEST_GROUP_MAX_ROWS rows, after waiting at most
RIGHTSIZER_INGEST_GROUP_WAIT_MS for company), writes it with telemetry.store's
single statement, and only then wakes the requests: a 202 still means the rows
are committed (the agent deletes its spool on 202). While one write runs the next
group gathers, so the busier the server, the larger and cheaper each write.

A group that fails is written again batch by batch, so one bad batch (a GPU
deleted meanwhile) fails only its own request. A database error reaches the
request as it would have in its own thread (a lost connection: 503).

Needs concurrent requests in one process to group anything: gunicorn runs gthread
workers (scripts/run.sh, the Dockerfile). Inside a transaction (the tests' atomic
blocks) a batch is written in the request's own thread, on its connection.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from telemetry.errors import ApiError
from telemetry.inventory import InventoryIds
from telemetry.store import store_many, store_samples
from telemetry.wire import IngestBatch

log = logging.getLogger(__name__)
IDLE_CLOSE_S = 1.0  # the writer closes its database connection after this long without a push


@dataclass(eq=False)
class _Pending:
    batch: IngestBatch
    ids: InventoryIds
    rows: int
    done: threading.Event = field(default_factory=threading.Event)
    accepted: int | None = 0  # None: stale cached ids, nothing stored (telemetry.hostcache)
    error: BaseException | None = None


class GroupWriter:
    def __init__(self) -> None:
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._pid: int | None = None
        self.writes = self.batches = 0  # since start, for the tests and the benchmark

    def store(self, batch: IngestBatch, ids: InventoryIds, timeout_s: float) -> int | None:
        """The batch's new samples, once the write holding them has committed (None: stale ids, not stored)."""
        rows = sum(1 + len(s.gpus) + len(s.servers) for s in batch.samples)
        item = _Pending(batch, ids, rows)
        with self._cond:
            self._start_once()
            self._queue.append(item)
            self._cond.notify()
        if not item.done.wait(timeout_s):
            # The rows may still land: a retry of the batch stores nothing twice.
            raise ApiError(
                503,
                "busy",
                f"The write did not finish within {timeout_s:g} s; nothing is confirmed. Retry the batch.",
                headers={"Retry-After": "5"},
            )
        if item.error is not None:
            raise item.error
        return item.accepted

    def _start_once(self) -> None:
        if self._pid != os.getpid():  # first use in this (forked) process
            self._pid = os.getpid()
            self._queue.clear()
            threading.Thread(target=self._run, name="ingest-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            group = self._next_group()
            try:
                if group:
                    self._write(group)
                else:
                    connection.close()  # idle: give the connection back (CONN_MAX_AGE's job elsewhere)
            finally:
                for item in group:
                    item.done.set()

    def _next_group(self) -> list[_Pending]:
        with self._cond:
            if not self._queue and not self._cond.wait(IDLE_CLOSE_S):
                return []
            while not self._queue:
                self._cond.wait()
            # Company arrives while we wait a little; a full group goes at once.
            max_rows = settings.INGEST_GROUP_MAX_ROWS
            deadline = time.monotonic() + settings.INGEST_GROUP_WAIT_MS / 1000
            while sum(i.rows for i in self._queue) < max_rows and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            group, hosts, rows, held = [], set(), 0, deque()
            while self._queue and (not group or rows + self._queue[0].rows <= max_rows):
                item = self._queue.popleft()
                if item.ids.host_id in hosts:  # one batch per host a write: counted by host
                    held.append(item)
                    continue
                group.append(item)
                hosts.add(item.ids.host_id)
                rows += item.rows
            self._queue.extendleft(reversed(held))
            return group

    def _write(self, group: list[_Pending]) -> None:
        self.writes += 1
        self.batches += len(group)
        try:
            counts = store_many([(i.batch, i.ids) for i in group])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests, or retried one by one
            self._recover()
            if len(group) == 1:
                group[0].error = exc
                return
            log.warning("event=group_write_failed batches=%d error=%s: writing them one by one",
                        len(group), type(exc).__name__)  # fmt: skip
            for item in group:
                try:
                    item.accepted = store_many([(item.batch, item.ids)])[0]
                except Exception as one_exc:  # noqa: BLE001 - this request's own answer
                    self._recover()
                    item.error = one_exc
            return
        for item, accepted in zip(group, counts, strict=True):
            item.accepted = accepted

    @staticmethod
    def _recover() -> None:
        # A broken connection is dropped, so the next write opens a fresh one.
        if connection.in_atomic_block:
            return
        if connection.connection is not None and not connection.is_usable():
            connection.close()


writer = GroupWriter()  # this process's; its thread starts with the first push


def store(batch: IngestBatch, ids: InventoryIds) -> int | None:
    """Store the batch (with others of this process when group commit is on); its new samples.

    None: the ids came from this process's cache and the host's inventory changed since; nothing stored.
    """
    if not settings.INGEST_GROUP_COMMIT or connection.in_atomic_block:
        return store_samples(batch, ids)
    return writer.store(batch, ids, settings.INGEST_GROUP_TIMEOUT_S)
