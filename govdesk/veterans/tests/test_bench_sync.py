"""Smoke test of the device-sync benchmark (bench/veterans_sync.py): a small run against SQLite,
in its own process (the benchmark sets Django up itself, on a throw-away database), must find
no duplicate and no loss. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]


def test_the_sync_benchmark_finds_no_duplicate_and_no_loss(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVDESK_") and k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "veterans_sync", "--records", "50", "--database", "sqlite",
         "--workers", "1", "--json"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "duplicates 0, losses 0: OK" in out, out
    figures = json.loads(out.strip().splitlines()[-1])
    check = figures["check"]
    assert check["ok"] and check["queued"] == check["in_db"] == 50
    assert check["duplicate_uuids"] == check["duplicate_id_numbers"] == 0
    assert check["lost"] == check["mismatched"] == check["unknown"] == 0
    assert figures["fates"]["drop_before"] > 0 and figures["fates"]["drop_after"] > 0
    assert figures["retries"] > 0 and figures["replayed"] > 0  # the drops and the resends did happen
    assert max(int(k) for k in figures["sends_per_record"]) == 3
    assert sorted(os.listdir(tmp_path)) == []  # the throw-away database and queues are gone
