"""The on-disk spool: order, bounds, restarts."""

from __future__ import annotations

import errno
import os

from collectors.spool import Spool, report


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_oldest_first_and_survives_a_restart(tmp_path):
    spool = Spool(tmp_path)
    for i in range(3):
        spool.put(f"batch {i}".encode())
    again = Spool(tmp_path)  # a new agent process
    assert [p.read_bytes() for p in again.pending()] == [b"batch 0", b"batch 1", b"batch 2"]
    again.put(b"batch 3")
    assert again.pending()[-1].read_bytes() == b"batch 3"  # numbering continues after a restart


def test_ack_removes_only_that_batch(tmp_path):
    spool = Spool(tmp_path)
    first, second = spool.put(b"a"), spool.put(b"b")
    spool.ack(first)
    assert spool.pending() == [second]


def test_size_bound_drops_the_oldest_and_counts_them(tmp_path):
    spool = Spool(tmp_path, max_bytes=2500)
    for i in range(5):
        spool.put(bytes([i]) * 1000)
    assert [p.read_bytes()[0] for p in spool.pending()] == [3, 4]
    assert spool.dropped() == 3
    assert Spool(tmp_path).dropped() == 3  # the count survives a restart


def test_age_bound(tmp_path):
    clock = Clock()
    spool = Spool(tmp_path, max_age_s=3600, clock=clock)
    spool.put(b"old")
    clock.now += 7200
    spool.put(b"new")
    assert [p.read_bytes() for p in spool.pending()] == [b"new"]
    assert spool.dropped() == 1


def test_a_half_written_file_from_a_crash_is_ignored(tmp_path):
    (tmp_path / "000000000009-1.json.tmp").write_bytes(b"partial")
    spool = Spool(tmp_path)
    assert spool.pending() == [] and not list(tmp_path.glob("*.tmp"))


def fail_writes(monkeypatch, code: int, times: int | None = None) -> list[int]:
    """os.write raises OSError(code) the first `times` calls (always if None); returns the calls."""
    real, calls = os.write, []

    def write(fd, data):
        calls.append(fd)
        if times is None or len(calls) <= times:
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    return calls


def test_a_full_disk_drops_the_oldest_to_make_room(tmp_path, monkeypatch, caplog):
    spool = Spool(tmp_path)
    for i in range(3):
        spool.put(bytes([i]) * 100)
    fail_writes(monkeypatch, errno.ENOSPC, times=1)
    spool.put(b"new")
    assert [p.read_bytes()[:1] for p in spool.pending()] == [b"\x01", b"\x02", b"n"]
    assert spool.held() == 0 and not list(tmp_path.glob("*.tmp"))
    assert (spool.dropped(), spool.stats["dropped_disk_full"]) == (1, 1)
    assert "event=spool_dropped batches=1" in caplog.text and "reason=disk_full" in caplog.text


def test_a_disk_that_stays_full_keeps_the_batch_in_memory_until_it_takes_writes(tmp_path, monkeypatch, caplog):
    spool = Spool(tmp_path)
    spool.put(b"old")
    with monkeypatch.context() as m:
        fail_writes(m, errno.ENOSPC)
        held = spool.put(b"held")
        assert not list(tmp_path.glob("*.tmp")) and not held.exists()
        assert spool.pending() == [held] and spool.read(held) == b"held"  # the old one made room
        spool.put(b"held too")
    assert spool.held() == 2 and spool.stats["write_errors"] == 2
    assert caplog.text.count("event=spool_write_failed") == 1  # one line, not one per batch
    spool.put(b"disk back")
    assert [p.read_bytes() for p in spool.pending()] == [b"held", b"held too", b"disk back"]
    assert spool.held() == 0 and "event=spool_writable_again written_from_memory=2" in caplog.text
    assert Spool(tmp_path).stats["write_errors"] == 2  # the counter was written once the disk took it


def test_a_read_only_spool_keeps_batches_in_memory_bounded(tmp_path, monkeypatch, caplog):
    spool = Spool(tmp_path, max_held_bytes=2500)
    spool.put(b"on disk")
    real_open = os.open

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    for i in range(5):
        spool.put(bytes([i]) * 1000)
    assert spool.held() == 2 and spool.stats["dropped_memory"] == 3  # the newest kept, nothing on disk dropped
    assert [spool.read(p)[:7] for p in spool.pending()] == [b"on disk", b"\x03" * 7, b"\x04" * 7]
    assert "errno=EROFS" in caplog.text and caplog.text.count("event=spool_write_failed") == 1
    for path in spool.pending()[1:]:
        spool.ack(path)  # pushed from memory
    assert spool.held() == 0 and len(spool.pending()) == 1


def test_a_batch_set_aside_after_5xx_keeps_the_servers_answer(tmp_path):
    spool = Spool(tmp_path)
    path = spool.put(b"poison")
    moved = spool.fail(path, 500, b'{"error": "server_error"}')
    assert spool.pending() == [] and moved.read_bytes() == b"poison"
    answer = (tmp_path / "failed" / (path.name + ".answer.txt")).read_text()
    assert "status: 500" in answer and "server_error" in answer
    r = report(tmp_path)
    assert (r["failed"], r["failed_dir"], r["waiting"]) == (1, tmp_path / "failed", 0)


def test_an_acknowledged_batch_that_cannot_be_deleted_is_not_sent_again(tmp_path, monkeypatch):
    spool = Spool(tmp_path)
    first, second = spool.put(b"a"), spool.put(b"b")

    def read_only(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(type(first), "unlink", read_only)
    spool.ack(first)
    assert first.exists() and spool.pending() == [second]
    assert spool.stats["write_errors"] == 1


def test_a_spool_folder_that_cannot_be_made_does_not_stop_the_agent(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    spool = Spool(tmp_path / "file" / "spool")  # mkdir fails (ENOTDIR), as on a read-only disk
    path = spool.put(b"kept in memory")
    assert spool.pending() == [path] and spool.read(path) == b"kept in memory"
    spool.ack(path)
    assert spool.pending() == [] and spool.held() == 0
