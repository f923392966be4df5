"""The on-disk spool: order, bounds, restarts."""

from __future__ import annotations

from collectors.spool import Spool


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
