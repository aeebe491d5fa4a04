"""Fixtures of the fault tests: a deployment (data folder, database, keys, production settings)
built once per session by real processes, and a fresh copy of it for each test.

SQLite by default (a file in a temp ``GOVDESK_DATA_DIR``); PostgreSQL when ``DATABASE_URL`` is
``postgres://...``: the template is a throw-away database ``gd_faults_tpl_<pid>`` and each test
gets ``gd_faults_<pid>_<n>`` made from it (``CREATE DATABASE ... TEMPLATE``), all dropped at the end.

Sizes: ``GOVDESK_FAULTS_ROWS`` people in the registry and as many in the import file (default
4,000: four batches of the import engine, two progress steps of an export),
``GOVDESK_FAULTS_DEVICE_ROWS`` records on the device (default 200). A bigger run:
``GOVDESK_FAULTS_ROWS=100000 GOVDESK_FAULTS_DEVICE_ROWS=5000 pytest tests/faults``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PROJECT = Path(__file__).resolve().parents[2]
ROWS = int(os.environ.get("GOVDESK_FAULTS_ROWS", "4000"))
DEVICE_ROWS = int(os.environ.get("GOVDESK_FAULTS_DEVICE_ROWS", "200"))
GOVDESK = [sys.executable, "-m", "govdesk.cli"]
STEP = (sys.executable, "-m", "tests.faults.deployment")
_numbers = itertools.count(1)
_injected: list[str] = []


def injected(fault: str) -> None:
    """Note a fault the test injected (listed at the end of the run)."""
    _injected.append(fault)


def pytest_terminal_summary(terminalreporter):
    if _injected:
        terminalreporter.write_sep("-", f"faults injected: {len(_injected)}")
        for fault in _injected:
            terminalreporter.write_line(f"  {fault}")


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition`` until it returns something true (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _admin_url(url: str, database: str = "postgres") -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _postgres(admin: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


class Deployment:
    """One installation: its data folder, its database, the environment its processes get."""

    def __init__(self, folder: Path, database_url: str, keys: dict):
        self.folder = folder
        self.database_url = database_url
        self.postgres = database_url.startswith("postgres")
        (folder / "static").mkdir(parents=True, exist_ok=True)  # STATIC_ROOT: WhiteNoise warns without it
        (folder / "tmp").mkdir(exist_ok=True)
        dropped = {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "TMPDIR"}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GOVDESK_") and k not in dropped}
        self.env.update(keys)
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "govdesk.settings", "GOVDESK_DATA_DIR": str(folder),
            "DATABASE_URL": database_url, "GOVDESK_DEBUG": "0", "GOVDESK_SSL_REDIRECT": "0",
            "GOVDESK_ALLOWED_HOSTS": "127.0.0.1,localhost", "GOVDESK_LOG_LEVEL": "WARNING",
            "GOVDESK_TABLE_BACKGROUND_ROWS": "1000", "TMPDIR": str(folder / "tmp"), "PYTHONUNBUFFERED": "1",
        })
        self.processes: list[subprocess.Popen] = []
        self._world: dict | None = None

    @property
    def world(self) -> dict:
        if self._world is None:
            self._world = json.loads((self.folder / "world.json").read_text())
        return self._world

    # --- processes -------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """``govdesk ARGS`` to the end."""
        return subprocess.run([*GOVDESK, *args], cwd=PROJECT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def step(self, *args: str, timeout: float = 300) -> str:
        """``python -m tests.faults.deployment ARGS`` to the end; its stdout."""
        done = subprocess.run([*STEP, *args], cwd=PROJECT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done.stdout

    def spawn(self, *args: str, log: str, command: tuple[str, ...] = tuple(GOVDESK),
              env: dict | None = None) -> subprocess.Popen:
        """``govdesk ARGS`` (or ``command ARGS``) in the background, in a process group of its own
        (what systemd kills)."""
        out = open(self.folder / log, "ab")  # noqa: SIM115 — closed with the process in stop()
        process = subprocess.Popen([*command, *args], cwd=PROJECT, env={**self.env, **(env or {})}, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log = out
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL to the process and everything it started: no handler runs, nothing is flushed."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=60)

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                Deployment.kill(process)
        process.log.close()

    def log(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # --- what an operator looks at ---------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of one read-only query (the operator's psql / sqlite3)."""
        if self.postgres:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        conn = sqlite3.connect(f"file:{self.folder / 'govdesk.sqlite3'}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def scalar(self, sql: str, params: tuple = ()):
        return self.query(sql, params)[0][0]

    def job(self, job_id: int) -> dict:
        status, done, total, result_file, summary, error = self.query(
            "SELECT status, done, total, result_file, summary, error FROM core_tablejob WHERE id = ?", (job_id,))[0]
        if isinstance(summary, str):
            summary = json.loads(summary)
        return {"status": status, "done": done, "total": total, "result_file": result_file, "summary": summary,
                "error": error}

    def records(self) -> int:
        return self.scalar("SELECT COUNT(*) FROM veterans_record")

    def import_events(self) -> int:
        return self.scalar("SELECT COUNT(*) FROM core_auditevent WHERE object_type = 'veterans.record' "
                           "AND verb = 'import'")

    def wal_bytes(self) -> int:
        try:
            return os.path.getsize(self.folder / "govdesk.sqlite3-wal")
        except OSError:
            return 0

    def wait_until_importing(self, mode: str, before: int, still: Callable[[], None] = lambda: None) -> None:
        """Until an import is visibly writing: a batch committed (``valid``), the progress bar
        moved (PostgreSQL writes it from its own connection), or — SQLite, one transaction, the
        bar moves at commit — the write-ahead log grew by a megabyte. ``still()`` asserts the
        importing process is still at it."""
        wal_at_start = self.wal_bytes()

        def writing():
            still()
            if mode == "valid":
                return self.records() > before
            if self.postgres:
                return self.scalar("SELECT COALESCE(MAX(done), 0) FROM core_tablejob WHERE status = 'running'") > 0
            return self.wal_bytes() > wal_at_start + (1 << 20)

        wait_for(writing, 120, f"the {mode} import to be writing", interval=0.02)

    def audit_verify(self) -> subprocess.CompletedProcess:
        return self.run("audit", "verify")


@pytest.fixture(scope="session")
def keys() -> dict:
    return {"GOVDESK_SECRET_KEY": secrets.token_urlsafe(48),
            "GOVDESK_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}


@pytest.fixture(scope="session")
def template(tmp_path_factory, keys):
    """The deployment every test starts from: migrated, the district seeded, ROWS people registered."""
    url = os.environ.get("DATABASE_URL", "")
    folder = tmp_path_factory.mktemp("faults-template")
    name = f"gd_faults_tpl_{os.getpid()}"
    if url.startswith("postgres"):
        _postgres(_admin_url(url), f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        database_url = _admin_url(url, name)
    else:
        url = ""
        database_url = f"sqlite:///{folder / 'govdesk.sqlite3'}"
    deployment = Deployment(folder, database_url, keys)
    try:
        deployment.step("build", str(folder), str(ROWS), str(DEVICE_ROWS), timeout=900)
        yield deployment, url
    finally:
        if url:
            _postgres(_admin_url(url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def deployment(template, tmp_path, keys):
    """A copy of the template for one test (files and database); its processes stopped afterwards."""
    source, url = template
    folder = tmp_path / "data"
    shutil.copytree(source.folder, folder, ignore=shutil.ignore_patterns("*.log"))
    name = None
    if url:
        name = f"gd_faults_{os.getpid()}_{next(_numbers)}"
        _postgres(_admin_url(url), f'DROP DATABASE IF EXISTS "{name}"',
                  f'CREATE DATABASE "{name}" TEMPLATE "gd_faults_tpl_{os.getpid()}"')
        database_url = _admin_url(url, name)
    else:
        database_url = f"sqlite:///{folder / 'govdesk.sqlite3'}"
    copy = Deployment(folder, database_url, keys)
    try:
        yield copy
    finally:
        for process in copy.processes:
            Deployment.stop(process)
        if name:
            _postgres(_admin_url(url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
