"""What every benchmark shares: which databases to run on, a throw-away PostgreSQL database,
Django set up on it, production-like settings and a real server (gunicorn) on 127.0.0.1."""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT = Path(__file__).resolve().parent.parent


# --- the database --------------------------------------------------------------------------------

def add_database_option(parser: argparse.ArgumentParser, choices=("sqlite", "postgresql", "auto")) -> None:
    parser.add_argument("--database", choices=list(choices), default=choices[-1],
                        help="auto: SQLite, and PostgreSQL too when DATABASE_URL points at one")


def choose_databases(parser: argparse.ArgumentParser, choice: str) -> tuple[list[str], str]:
    """The databases to run on and the admin connection (``DATABASE_URL``, may be empty)."""
    admin_url = os.environ.get("DATABASE_URL", "")
    if choice == "auto":
        databases = ["sqlite"] + (["postgresql"] if admin_url.startswith("postgres") else [])
    else:
        databases = [choice]
    if databases == ["postgresql"] and not admin_url.startswith("postgres"):
        parser.error("--database postgresql needs DATABASE_URL=postgres://... (the admin connection)")
    return databases, admin_url


def make_postgres(admin_url: str, prefix: str = "bench") -> tuple[str, callable]:
    """Create ``<prefix>_<pid>`` next to the admin connection's database; return its URL and
    a function that drops it (closing Django's connections first)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))

    def drop():
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


def setup_django(data_dir: str, database_url: str | None, settings_module: str = "govdesk.settings") -> None:
    """Django on ``database_url`` (None: a SQLite file in ``data_dir``), migrated, DEBUG off."""
    os.environ["GOVDESK_DATA_DIR"] = data_dir
    os.environ.setdefault("GOVDESK_UPLOAD_MAX_BYTES", str(1 << 30))  # a million rows are about 70 MB
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # no query log
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- the server ----------------------------------------------------------------------------------

def production_env() -> None:
    """Production settings (DEBUG off) with keys made for this run, for the server and for this
    process alike (so this process can check the server's blind indexes and hashes)."""
    os.environ.update({
        "GOVDESK_DEBUG": "0",
        "GOVDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "GOVDESK_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "GOVDESK_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1
        "GOVDESK_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GOVDESK_LOG_LEVEL": "ERROR",
    })
    os.environ.pop("GOVDESK_DATA_KEYS_OLD", None)


class Server:
    """gunicorn in a subprocess (or wsgiref in a thread) on a socket this process bound.

    gunicorn gets this process's environment, so ``DJANGO_SETTINGS_MODULE`` picks its settings."""

    def __init__(self, kind: str, workers: int, extra_args: tuple[str, ...] = ()):
        self.kind = kind
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.url = f"http://127.0.0.1:{self.address[1]}"
        self.process = self.httpd = None
        if kind == "gunicorn":
            fd = self.sock.fileno()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "govdesk.wsgi:application", "--bind", f"fd://{fd}",
                 "--workers", str(workers), "--worker-class", "sync", "--timeout", "300",
                 "--log-level", "warning", *extra_args],
                cwd=PROJECT, pass_fds=[fd], env=dict(os.environ))
        else:
            from socketserver import ThreadingMixIn
            from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

            from govdesk.wsgi import application

            class Threading(ThreadingMixIn, WSGIServer):
                daemon_threads = True

            class Quiet(WSGIRequestHandler):
                def log_message(self, *args):
                    pass

            self.sock.close()
            self.httpd = Threading(self.address, Quiet)
            self.httpd.set_app(application)
            threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_ready(self, path: str, headers: dict | None = None, timeout: float = 180.0) -> None:
        """Until ``GET path`` answers 200 (gunicorn's workers import Django first)."""
        deadline = time.monotonic() + timeout
        while True:
            request = urllib.request.Request(self.url + path, headers=headers or {})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """gunicorn's workers (Linux /proc; empty elsewhere or with wsgiref)."""
        if self.process is None:
            return []
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def cpu_seconds(self) -> float | None:
        """CPU time of gunicorn's workers so far (Linux /proc; None elsewhere or with wsgiref)."""
        if self.process is None:
            return None
        try:
            ticks = 0
            for pid in self.worker_pids():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            return None
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.sock.close()
