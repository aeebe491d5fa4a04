"""Issue 4's device-sync benchmark: N queued records sent through a connection that drops, each
record sent up to three times; nothing may be lost and nothing doubled.

    python -m bench veterans_sync                     # 10,000 records on a throw-away SQLite file
    python -m bench veterans_sync --records 2000      # smaller
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench veterans_sync
        # SQLite, then PostgreSQL: DATABASE_URL is the admin connection; the benchmark creates
        # bench_sync_<pid>, runs there and drops it

What it runs:

- a real server: gunicorn (``govdesk.wsgi``, sync workers, production settings — DEBUG off, a
  data key made for the run) in a subprocess on 127.0.0.1 at a random port, on a throw-away
  database seeded through the services with a district, a street, three communities, a
  collector of that street and the collector's device token (``--server wsgiref`` runs the
  standard library's server in a thread of this process instead);
- ``govdesk.veterans.testing.FlakyProxy`` in front of it, dropping connections before the
  request reaches the server (``--drop-before``, default 10 %) and after the server has done
  the work but before the answer comes back (``--drop-after``, default 10 %), in a seeded
  shuffled order;
- the reference client, ``govdesk.veterans.sync``: N synthetic people (valid ID numbers with
  their check digits, gender and birth date matching, service dates in order) queued in the
  device's SQLite queue, then flushed through the proxy (round 1); then a random third of all
  records is put back in the queue unchanged and flushed again, twice (rounds 2 and 3), as a
  device that lost its acknowledgements would — so every record is sent one to three times by
  the device, and more on the wire when a drop makes the client retry. A flush that gives up
  (a request dropped more often than ``--retries``) is simply run again, as the device's next
  sync would. ``--devices K`` splits the records over K devices flushing at the same time.

What it checks afterwards, in the database: one record per UUID and per ID number (blind
index), every queued UUID present with the content the device queued (the server's
``origin_hash`` equals the hash of the queued data cleaned again here; ID number decrypted and
compared; the collector), no record the devices did not send, exactly one ``collect`` audit event
per record, every queued record acknowledged (``sent``) in its device's queue. Exit code 1 when
any of that fails.

What it reports: records/s of the first round (N records through the drops, from the first
request to the last acknowledgement) and of the whole run (all device sends, replays included),
HTTP requests sent, drops injected, the client's retries and the time spent in its backoff
(``--backoff``, default 0.01 s here against the client's 0.5 s for devices in the field, so the
figure is the server's and the protocol's, not the pause's).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from bench._common import (
    PROJECT,
    Server,
    add_database_option,
    choose_databases,
    make_postgres,
    production_env,
    setup_django,
)
from bench.imports import GIVEN, STREETS, SURNAMES, id_number

SERVICE_CATEGORIES = ["tuiyishibing", "tuiyishibing", "tuiyishibing", "fuyuan", "zhuanyeganbu", "canzhan"]
FAMILY_CATEGORIES = ["lieshiyishu", "xianyijiashu"]


# --- the world and the people ------------------------------------------------------------

def seed_world() -> dict:
    """A district, a street with three communities, a collector of the street and a device token."""
    from govdesk.core import services
    from govdesk.core.models import User
    from govdesk.core.reach import Role

    root = User.objects.create_superuser("bench", "", "bench-password-1")
    district = services.orgunit_create(actor=root, parent=None, kind="district", code="410102", name="中原区")
    street = services.orgunit_create(actor=root, parent=district, kind="street", code="S01", name=STREETS[0])
    communities = [services.orgunit_create(actor=root, parent=street, kind="community", code=f"S01C{c}",
                                           name=f"{STREETS[0][:-2]}第{c}社区") for c in range(1, 4)]
    collector = services.user_create(actor=root, username="collector07", display_name="采集员 07",
                                     password="Bench@pass-2026", role=Role.COLLECTOR, unit=street)
    _token, key = services.token_create(actor=collector, owner=collector, name="采集终端 07")
    return {"collector": collector, "communities": communities, "token": key}


def people(n: int, communities: list, seed: int) -> list[dict]:
    """N records as a device's API ``data``: valid, distinct ID numbers (bench.imports' generator)."""
    rng = random.Random(seed)
    today = date.today()
    seen: set[str] = set()
    out = []
    seq = 0
    while len(out) < n:
        idn, male, born = id_number(rng, seq)
        seq += 1
        if idn in seen:
            continue
        seen.add(idn)
        community = rng.choice(communities)
        address = f"郑州市中原区{STREETS[0]}{rng.randrange(1, 300)}号院"
        data = {"name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else ""),
                "gender": "男" if male else "女", "ethnicity": "汉族" if rng.random() < 0.97 else "回族",
                "id_number": idn, "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                "community_id": community.pk, "household_address": address, "residential_address": address}
        if rng.random() < 0.9:
            enlisted = date(born.year + 18, rng.choice((3, 9, 12)), 1)
            discharged = enlisted + timedelta(days=rng.randrange(2 * 365, 16 * 365))
            data["category"] = rng.choice(SERVICE_CATEGORIES)
            data["enlisted_on"] = enlisted.isoformat()
            if discharged < today:
                data["discharged_on"] = discharged.isoformat()
        else:
            data["category"] = rng.choice(FAMILY_CATEGORIES)
        out.append(data)
    return out


# --- the server ------------------------------------------------------------------------------

def drop_plan(before: float, after: float, seed: int, length: int = 1000) -> list[str]:
    """The proxy's fates for successive connections: exact proportions, shuffled (it cycles)."""
    n_before, n_after = round(length * before), round(length * after)
    plan = ["drop_before"] * n_before + ["drop_after"] * n_after + ["pass"] * (length - n_before - n_after)
    random.Random(seed).shuffle(plan)
    return plan


# --- the devices -------------------------------------------------------------------------------

class Device:
    def __init__(self, path: Path, url: str, token: str, args):
        from govdesk.veterans import sync

        self.spool_path = path
        self.url, self.token, self.args = url, token, args
        self.uuids: list[str] = []
        self.data: dict[str, dict] = {}
        self.sends: Counter = Counter()  # how often the device queued each record for sending
        self.slept = 0.0
        self.flushes = self.stopped = 0
        self.client = sync.Client(url, token, retries=args.retries, backoff=args.backoff, max_backoff=1.0,
                                  timeout=120, sleep=self._sleep)
        self.spool = sync.Spool(path)

    def _sleep(self, seconds: float) -> None:
        self.slept += seconds
        time.sleep(seconds)

    def queue(self, records: list[dict]) -> None:
        for data in records:
            record_uuid = self.spool.add(data, submit=True)
            self.uuids.append(record_uuid)
            self.data[record_uuid] = data

    def requeue(self, uuids: list[str]) -> None:
        """Put records back in the queue unchanged (the device never learned they arrived)."""
        with self.spool.db:
            self.spool.db.execute("BEGIN IMMEDIATE")
            self.spool.db.executemany("UPDATE records SET state = 'queued' WHERE uuid = ?", [(u,) for u in uuids])

    def flush(self) -> None:
        """Flush until nothing is queued (a flush that gave up is run again, as the next sync would)."""
        from govdesk.veterans import sync

        spool = sync.Spool(self.spool_path)  # this thread's own connection to the queue
        try:
            self.sends.update(row["uuid"] for row in spool.records("queued"))
            for _ in range(20):
                self.flushes += 1
                report = self.client.flush(spool)
                if report.stopped:
                    self.stopped += 1
                    report.stopped = ""
                if not spool.records("queued"):
                    return
        finally:
            spool.close()


def run_round(devices: list[Device]) -> float:
    start = time.perf_counter()
    threads = [threading.Thread(target=d.flush) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


# --- the checks -----------------------------------------------------------------------------

def verify(devices: list[Device], collector, communities: list) -> dict:
    from django.db.models import Count

    from govdesk.core import personal
    from govdesk.core.models import AuditEvent
    from govdesk.veterans import services
    from govdesk.veterans.models import Category, Record

    categories = {c.code: c for c in Category.objects.all()}
    units = {u.pk: u for u in communities}
    queued = {u: d.data[u] for d in devices for u in d.uuids}
    out = {
        "in_db": Record.objects.count(),
        "duplicate_uuids": Record.objects.values("uuid").annotate(n=Count("id")).filter(n__gt=1).count(),
        "duplicate_id_numbers": Record.objects.values("id_number_bidx").annotate(n=Count("id"))
        .filter(n__gt=1).count(),
        "collect_audit_events": AuditEvent.objects.filter(object_type="veterans.record", verb="collect").count(),
    }
    found, mismatched, unknown = set(), [], 0
    rows = Record.objects.values_list("uuid", "name", "id_number_enc", "origin_hash", "content_hash",
                                      "collector_id", "status")
    statuses = Counter()
    for record_uuid, name, id_enc, origin_hash, content_hash, collector_id, status in rows.iterator(2000):
        record_uuid = str(record_uuid)
        data = queued.get(record_uuid)
        if data is None:
            unknown += 1
            continue
        found.add(record_uuid)
        statuses[status] += 1
        cleaned = services.clean_record({**data, "category": categories[data["category"]],
                                         "community": units[data["community_id"]]})
        expected = services.content_hash(cleaned)
        if (origin_hash != expected or content_hash != expected or name != data["name"]
                or personal.decrypt(id_enc) != data["id_number"] or collector_id != collector.pk):
            mismatched.append(record_uuid)
    states = Counter()
    for d in devices:
        states.update(d.spool.counts())
    out.update(queued=len(queued), lost=len(set(queued) - found), unknown=unknown, mismatched=len(mismatched),
               statuses=dict(statuses), queue_states=dict(states))
    out["ok"] = (out["duplicate_uuids"] == out["duplicate_id_numbers"] == out["lost"] == out["unknown"]
                 == out["mismatched"] == 0 and out["in_db"] == len(queued)
                 and out["collect_audit_events"] == len(queued) and states == {"records_sent": len(queued)})
    return out


# --- the run ------------------------------------------------------------------------------------

def bench(args, database: str, admin_url: str | None) -> dict:
    data_dir = tempfile.mkdtemp(prefix="govdesk-bench-sync-")
    os.makedirs(os.path.join(data_dir, "static"))  # STATIC_ROOT: WhiteNoise warns when it is missing
    drop = server = proxy = None
    devices: list[Device] = []
    try:
        url = None
        if database == "postgresql":
            url, drop = make_postgres(admin_url, "bench_sync")
        production_env()
        t = time.perf_counter()
        setup_django(data_dir, url)
        from django.db import connection, connections

        from govdesk.veterans.testing import FlakyProxy

        vendor = connection.vendor
        world = seed_world()
        records = people(args.records, world["communities"], args.seed)
        print(f"[{vendor}] migrated and seeded in {time.perf_counter() - t:.1f}s", flush=True)

        server = Server(args.server, args.workers)
        if args.server == "gunicorn":
            connections.close_all()  # the server process has its own
        server.wait_ready("/api/v1/veterans/categories", {"Authorization": f"Bearer {world['token']}"})
        proxy = FlakyProxy(server.address, drop_plan(args.drop_before, args.drop_after, args.seed))

        t = time.perf_counter()
        devices = [Device(Path(data_dir) / f"device-{i + 1:02d}.sqlite3", proxy.url, world["token"], args)
                   for i in range(args.devices)]
        for i, device in enumerate(devices):
            device.queue(records[i::args.devices])
        queue_seconds = time.perf_counter() - t
        print(f"[{vendor}] queued {args.records} records on {args.devices} device(s) in {queue_seconds:.1f}s; "
              f"server {args.server} at {server.url}, proxy at {proxy.url}", flush=True)

        rng = random.Random(args.seed + 1)
        rounds = []
        server_cpu = server.cpu_seconds()
        own_cpu = time.process_time()
        for r in range(1, args.rounds + 1):
            if r > 1:
                for device in devices:
                    device.requeue(rng.sample(device.uuids, round(len(device.uuids) * args.requeue)))
            before = sum(sum(d.sends.values()) for d in devices)
            requests_before = sum(proxy.counts.values())
            seconds = run_round(devices)
            sent = sum(sum(d.sends.values()) for d in devices) - before
            rounds.append({"round": r, "records": sent, "seconds": seconds,
                           "requests": sum(proxy.counts.values()) - requests_before})
            print(f"[{vendor}] round {r}: {sent} records in {seconds:.1f}s ({sent / seconds:.0f} records/s)",
                  flush=True)
        if server_cpu is not None:
            server_cpu = server.cpu_seconds() - server_cpu
        own_cpu = time.process_time() - own_cpu
        server.stop()
        server = None
        proxy.close()

        sends = Counter()
        for d in devices:
            sends.update(d.sends)
        out = {
            "database": vendor, "records": args.records, "devices": args.devices, "server": args.server,
            "workers": args.workers, "rounds": rounds, "queue_seconds": queue_seconds,
            "requests": sum(proxy.counts.values()), "fates": dict(proxy.counts),
            "retries": sum(d.client.report.retries for d in devices),
            "backoff_seconds": sum(d.slept for d in devices),
            "created": sum(d.client.report.created for d in devices),
            "replayed": sum(d.client.report.replayed for d in devices),
            "conflicts": sum(d.client.report.conflicts for d in devices),
            "refused": sum(d.client.report.refused for d in devices),
            "flushes": sum(d.flushes for d in devices), "stopped_flushes": sum(d.stopped for d in devices),
            "server_cpu_seconds": server_cpu, "client_cpu_seconds": own_cpu,
            "sends_per_record": dict(sorted(Counter(sends.values()).items())),
            "messages": [m for d in devices for m in d.client.report.messages][:5],
        }
        out["check"] = verify(devices, world["collector"], world["communities"])
        return out
    finally:
        for device in devices:
            device.spool.close()
        if server is not None:
            server.stop()
        if proxy is not None:
            proxy.close()
        if drop is not None:
            drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def report(out: dict) -> str:
    first = out["rounds"][0]
    total_records = sum(r["records"] for r in out["rounds"])
    total_seconds = sum(r["seconds"] for r in out["rounds"])
    fates = out["fates"]
    check = out["check"]
    answered = fates.get("pass", 0) + fates.get("drop_after", 0)
    server_cpu = "server n/a"
    if out["server_cpu_seconds"] is not None:
        server_cpu = (f"server (gunicorn workers) {out['server_cpu_seconds']:.1f} s, "
                      f"{1000 * out['server_cpu_seconds'] / max(1, answered):.0f} ms per request it answered")
    lines = [
        f"{out['database']}, {out['records']} records, {out['devices']} device(s), {out['server']} "
        f"({out['workers']} worker(s)):",
        f"  round 1 (every record once)       {first['seconds']:8.1f} s  {first['records'] / first['seconds']:7.0f}"
        f" records/s",
        f"  all {len(out['rounds'])} rounds ({total_records} device sends) {total_seconds:8.1f} s  "
        f"{total_records / total_seconds:7.0f} records/s  "
        f"{out['requests'] / total_seconds:6.0f} requests/s",
        f"  CPU during the rounds: {server_cpu}; this process (devices, proxy"
        f"{', server' if out['server'] == 'wsgiref' else ''}) {out['client_cpu_seconds']:.1f} s",
        f"  sends per record by the device: {out['sends_per_record']}",
        f"  requests sent {out['requests']}  passed {fates.get('pass', 0)}  dropped before the server "
        f"{fates.get('drop_before', 0)}  dropped after the server answered {fates.get('drop_after', 0)}",
        f"  client: retries {out['retries']} (backoff {out['backoff_seconds']:.1f} s), 201 created {out['created']}, "
        f"200 replays {out['replayed']}, conflicts {out['conflicts']}, refused {out['refused']}, "
        f"flushes {out['flushes']} ({out['stopped_flushes']} gave up and ran again)",
        f"  database: {check['in_db']} records for {check['queued']} queued; duplicates: "
        f"{check['duplicate_uuids']} by UUID, {check['duplicate_id_numbers']} by ID number; losses "
        f"{check['lost']}; content differing {check['mismatched']}; unknown {check['unknown']}; "
        f"collect audit events {check['collect_audit_events']}; queues {check['queue_states']}",
        f"  duplicates {check['duplicate_uuids'] + check['duplicate_id_numbers']}, losses "
        f"{check['lost'] + check['mismatched']}: {'OK' if check['ok'] else 'FAILED'}",
    ]
    if out["messages"]:
        lines.append(f"  server messages: {out['messages']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench veterans_sync", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    add_database_option(parser)
    parser.add_argument("--server", choices=["gunicorn", "wsgiref"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--devices", type=int, default=1, help="devices flushing at the same time")
    parser.add_argument("--drop-before", type=float, default=0.10)
    parser.add_argument("--drop-after", type=float, default=0.10)
    parser.add_argument("--rounds", type=int, default=3, help="round 1 sends every record; each later round a "
                                                               "random --requeue share of them again")
    parser.add_argument("--requeue", type=float, default=1 / 3)
    parser.add_argument("--retries", type=int, default=8, help="the client's retries per request")
    parser.add_argument("--backoff", type=float, default=0.01, help="the client's first pause, seconds")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: one database per process
    args = parser.parse_args(argv)
    databases, admin_url = choose_databases(parser, args.database)
    if args.one or len(databases) == 1:
        out = bench(args, databases[0], admin_url or None)
        print(report(out), flush=True)
        if args.json:
            print(json.dumps(out, ensure_ascii=False, default=str), flush=True)
        return 0 if out["check"]["ok"] else 1
    # Django configures one database per process: run each in its own.
    code = 0
    rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--one",)]
    for database in databases:
        code = max(code, subprocess.call([sys.executable, "-m", "bench", "veterans_sync", *rest,
                                          "--database", database, "--one"], cwd=PROJECT))
    return code
