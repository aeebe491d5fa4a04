"""The load benchmark (bench/load.py) at CI size: the demo x2 on a throw-away PostgreSQL database,
gunicorn with two workers, wrk for 2 s on a few pages and endpoints and their admin peers, in its
own process (the benchmark sets Django up itself). It must see only 2xx answers, no socket error, no
worker replaced, a bounded RSS per worker and no more database connections than workers. No timing
is asserted. `make bench` runs it in full (x100, every target, 10 s each)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from govdesk.conftest import reachable, skip_or_fail

PROJECT = Path(__file__).resolve().parents[2]
TARGETS = "district overview,mall orders,API mall orders,veterans records,API veterans records,coal places"


def test_the_pages_hold_under_load_without_errors_or_growth(tmp_path):
    if shutil.which("wrk") is None:
        skip_or_fail("the load test needs wrk (Debian: apt-get install wrk)")
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith("postgres"):
        # CI's SQLite pass: the PostgreSQL pass (DATABASE_URL=postgres://...) runs it.
        import pytest

        pytest.skip("the load test runs on PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db>")
    server = urlsplit(admin_url)
    if not reachable(server.hostname or "127.0.0.1", server.port or 5432):
        skip_or_fail(f"the load test needs PostgreSQL at {server.hostname}:{server.port or 5432}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVDESK_") and k != "DJANGO_SETTINGS_MODULE"}
    admin_url = urlunsplit(server._replace(path="/postgres"))  # the bench creates and drops its own database
    env.update(DATABASE_URL=admin_url, TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "bench", "load", "--scale", "2", "--duration", "2", "--warmup", "1",
         "--workers", "2", "--connections", "4", "--targets", TARGETS, "--json"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    verdict = out["verdict"]
    assert verdict["problems"] == []
    assert not out["workers_replaced"]
    assert out["rows"]["mall.Order"] > 0 and out["rows"]["veterans.Record"] > 0
    ran = {name: r for name, r in out["results"].items() if "requests" in r}
    assert set(TARGETS.split(",")) <= set(ran)
    assert {"admin mall.Order", "admin veterans.Record", "admin coal.Place"} <= set(ran)  # the peers ran too
    for name, r in ran.items():
        assert r["requests"] > 0, name
        assert r["non_2xx"] == 0 and r["socket_errors"] == 0, (name, r)
    assert verdict["max_connections"] <= out["workers"]
    assert verdict["worst_rss_growth_mb"] <= 64
    assert sorted(os.listdir(tmp_path)) == []  # the data directory is gone
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:  # and so is the database
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [out["database"]]).fetchone() is None
