"""`rightsizer-agent check`: what it says about the spool."""

from __future__ import annotations

import json

from collectors import cli


def test_check_counts_dropped_and_failed_batches_and_says_where(tmp_path, monkeypatch, capsys):
    for key in ("RIGHTSIZER_URL", "RIGHTSIZER_TOKEN", "RIGHTSIZER_CONFIG", "RIGHTSIZER_SERVERS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RIGHTSIZER_DISCOVER", "false")
    spool = tmp_path / "spool"
    (spool / "failed").mkdir(parents=True)
    (spool / "failed" / "000000000003-1.json.gz").write_bytes(b"x")
    (spool / "failed" / "000000000003-1.json.gz.answer.txt").write_text("status: 500\n")
    (spool / "000000000004-2.json.gz").write_bytes(b"y")
    (spool / "stats.json").write_text(json.dumps({"dropped": 7, "dropped_disk_full": 2, "dropped_memory": 1,
                                                  "failed": 1, "write_errors": 4}))  # fmt: skip
    cli.main(["--state-dir", str(tmp_path), "check"])
    out = capsys.readouterr().out
    assert f"spool {spool}: 1 batch(es) waiting" in out
    assert "7 batch(es) dropped (4 past the size or age bound, 2 for a full disk, 1 from memory" in out
    assert f"1 batch(es) the server kept failing on (5xx) while it took others, set aside in {spool / 'failed'}" in out
    assert "0 batch(es) the server refused (4xx)" in out and "4 failed write(s)" in out
