"""`govdesk backup` and `govdesk restore` round-trip a whole installation — every row,
every file, every audit hash — on the database the suite runs on (SQLite, or PostgreSQL
when DATABASE_URL points there). They run as real commands in separate processes."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from django.db import connection

POPULATE = """
from django.conf import settings
from govdesk.conftest import build_world
from govdesk.core import services
from govdesk.core.reach import Role
world = build_world()
services.user_create(actor=world.root, username="c1", display_name="采集员", password="Good#pass-91",
                     role=Role.COLLECTOR, unit=world.street_a, phone="13800001234")
folder = settings.MEDIA_ROOT / "veterans"
folder.mkdir(parents=True, exist_ok=True)
(folder / "身份证.pdf").write_bytes(b"%PDF-1.4 scanned id card")
"""

STATE = """
import hashlib, json
from django.conf import settings
from govdesk.core import personal
from govdesk.core.backup import chain_heads, table_counts
from govdesk.core.models import User
files = {str(p.relative_to(settings.MEDIA_ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
         for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()}
print(json.dumps({"counts": table_counts(), "chains": chain_heads(), "files": files,
                  "phone": personal.decrypt(User.objects.get(username="c1").phone_enc)}))
"""


def run(env, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "govdesk.cli", *args], env=env, capture_output=True, text=True,
                            timeout=300)
    if check:
        assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture
def installations(tmp_path):
    """Two empty installations (source and destination) on the suite's database engine."""
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
            and not k.startswith("GOVDESK_")}
    envs, dropped = [], []
    for name in ("src", "dst"):
        env = {**base, "GOVDESK_DATA_DIR": str(tmp_path / name)}
        if connection.vendor == "postgresql":
            import psycopg
            s = connection.settings_dict
            admin = f"postgresql://{s['USER'] or 'postgres'}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/postgres"
            db = f"gd_backup_{name}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(admin, autocommit=True) as pg:
                pg.execute(f'CREATE DATABASE "{db}"')
            dropped.append((admin, db))
            env["DATABASE_URL"] = admin.rsplit("/", 1)[0] + f"/{db}"
        run(env, "migrate", "--verbosity", "0")
        envs.append(env)
    yield envs
    for admin, db in dropped:
        import psycopg
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def state(env):
    return json.loads(run(env, "shell", "--no-imports", "-c", STATE).stdout)


def test_backup_and_restore_round_trip_every_row_file_and_audit_hash(installations, tmp_path):
    src, dst = installations
    run(src, "shell", "--no-imports", "-c", POPULATE)
    before = state(src)
    archive = tmp_path / "govdesk.tar.gz"
    out = run(src, "backup", str(archive)).stdout
    assert "已备份" in out and archive.exists()

    result = run(dst, "restore", str(archive), "--yes")
    assert "审计链校验通过" in result.stdout
    after = state(dst)
    assert after == before
    assert after["phone"] == "13800001234" and after["files"] == {"veterans/身份证.pdf": before["files"]["veterans/身份证.pdf"]}
    assert sum(after["counts"].values()) > 100
    assert "审计链完好" in run(dst, "audit", "verify").stdout


def test_restore_refuses_an_archive_made_under_another_data_key(installations, tmp_path):
    src, dst = installations
    run(src, "shell", "--no-imports", "-c", POPULATE)
    archive = tmp_path / "govdesk.tar.gz"
    run(src, "backup", str(archive))
    import base64
    other = {**dst, "GOVDESK_DATA_KEY": base64.b64encode(b"z" * 32).decode()}
    result = run(other, "restore", str(archive), "--yes", check=False)
    assert result.returncode == 2 and "数据密钥" in result.stderr
