"""The server killed with SIGKILL (gunicorn, master and workers) while a collection terminal
flushes its queue through the reference client, and a ``govdesk import`` killed mid-way: after
the restart the device flushes again (the import is run again) and every record is in the
database exactly once, none is lost, and the audit chain verifies.

Real processes against a copy of the session's deployment (see conftest.py): gunicorn as the
sync benchmark starts it (``bench._common.Server``), ``FlakyProxy`` as the terminal's fixed
address in front of it, the device's SQLite queue and ``govdesk.veterans.sync``."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import uuid

from bench._common import Server
from govdesk.veterans import sync
from govdesk.veterans.testing import FlakyProxy

from .conftest import ROWS, injected, wait_for

CATEGORIES = "/api/v1/veterans/categories"


def start_server(deployment, monkeypatch, token: str) -> Server:
    """gunicorn with the deployment's environment (Server hands it this process's)."""
    for key in list(os.environ):
        if key not in deployment.env:
            monkeypatch.delenv(key)
    for key, value in deployment.env.items():
        monkeypatch.setenv(key, value)
    server = Server("gunicorn", 2)
    server.wait_ready(CATEGORIES, {"Authorization": f"Bearer {token}"})
    return server


def kill_server(server: Server) -> None:
    """kill -9 of gunicorn's master and workers at once; the port stops answering."""
    for pid in [*server.worker_pids(), server.process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.process.wait(timeout=60)
    server.sock.close()  # this process held the listening socket for gunicorn: nobody answers now


def sent(queue) -> int:
    conn = sqlite3.connect(f"file:{queue}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM records WHERE state = 'sent'").fetchone()[0]
    finally:
        conn.close()


def test_a_device_flushing_through_a_server_kill_loses_nothing_and_doubles_nothing(deployment, monkeypatch):
    token = deployment.world["token"]
    people = json.loads((deployment.folder / "device.json").read_text())
    queue = deployment.folder / "device-queue.sqlite3"
    spool = sync.Spool(queue)
    queued = [spool.add(data, submit=True) for data in people]
    server = start_server(deployment, monkeypatch, token)
    proxy = FlakyProxy(server.address, ["pass"])  # the address the terminal knows, whatever runs behind it
    servers = [server]
    try:
        client = sync.Client(proxy.url, token, retries=4, backoff=0.05, max_backoff=0.5, timeout=60)

        def flush():
            own = sync.Spool(queue)  # the flushing thread's own connection to the queue
            try:
                client.flush(own)
            finally:
                own.close()

        flushing = threading.Thread(target=flush, daemon=True)
        flushing.start()
        wait_for(lambda: sent(queue) >= len(people) // 3 or not flushing.is_alive(), 300,
                 "a third of the queue to be sent")
        assert flushing.is_alive(), "the flush ended before the server could be killed"
        kill_server(server)
        at_kill = sent(queue)
        flushing.join(timeout=300)
        assert not flushing.is_alive()
        assert client.report.stopped, "the flush should give up while the server is down"
        assert sent(queue) < len(people)
        injected(f"SIGKILL gunicorn (master and 2 workers) during a device flush, {at_kill} of {len(people)} "
                 f"records acknowledged")

        server = start_server(deployment, monkeypatch, token)
        servers.append(server)
        proxy.upstream = server.address
        for _ in range(10):  # the device's next syncs
            client.report.stopped = ""
            client.flush(spool)
            if not spool.records("queued"):
                break
        assert spool.counts() == {"records_sent": len(people)}, (spool.counts(), client.report.messages[:3])
    finally:
        proxy.close()
        for s in servers:
            s.stop()

    acknowledged = {row["uuid"]: row["server_id"] for row in spool.records()}
    spool.close()
    collector = "(SELECT id FROM core_user WHERE username = 'collector07')"
    in_db = {str(uuid.UUID(str(u))): pk for pk, u in
             deployment.query(f"SELECT id, uuid FROM veterans_record WHERE collector_id = {collector}")}
    assert sorted(in_db) == sorted(queued)  # every queued record, none other, each once (uuid is unique)
    assert in_db == acknowledged  # and the device holds the id the server gave each
    assert client.report.created + client.report.replayed >= len(people)
    events = deployment.query("SELECT object_id FROM core_auditevent WHERE object_type = 'veterans.record' "
                              "AND verb = 'collect'")
    assert sorted(int(e) for (e,) in events) == sorted(in_db.values())  # one collect event per record
    verify = deployment.audit_verify()
    assert verify.returncode == 0, verify.stderr


def test_a_cli_import_killed_mid_way_can_simply_be_run_again(deployment):
    before = deployment.records()
    batch = deployment.world["batch_size"]
    path = str(deployment.folder / "import.xlsx")
    importing = deployment.spawn("import", "veterans-records", path, "--mode", "valid", log="import-1.log")

    def still():
        assert importing.poll() is None, deployment.log("import-1.log")

    deployment.wait_until_importing("valid", before, still)
    deployment.kill(importing)
    written = deployment.records() - before
    injected(f"SIGKILL govdesk import (valid mode), {written} of {ROWS} rows written")
    assert written % batch == 0 and written < ROWS, f"{written} rows written: not whole batches of {batch}"
    assert deployment.import_events() == before + written

    again = deployment.run("import", "veterans-records", path, "--mode", "valid", "--json")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    result = json.loads(again.stdout)
    assert (result["created"], result["unchanged"], result["invalid"]) == (ROWS - written, written, 0)
    after = json.loads(deployment.step("check", path))
    assert after == {"in_file": ROWS, "present": ROWS, "missing": 0, "doubled": 0, "import_events": ROWS,
                     "records": before + ROWS}
    verify = deployment.audit_verify()
    assert verify.returncode == 0, verify.stderr
