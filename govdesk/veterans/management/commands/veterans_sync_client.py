"""``govdesk veterans sync-client`` (also ``govdesk veterans_sync_client``): the reference client
of a collection terminal. It keeps a local queue and flushes it to a server; see
``govdesk/veterans/sync.py`` and docs/VETERANS.md. It talks to the server only over HTTP, so it
needs no database of its own."""

import json
import os
import sys

from django.core.management import BaseCommand, CommandError

from govdesk.veterans import sync

DEFAULT_QUEUE = os.environ.get("GOVDESK_SYNC_QUEUE", "veterans-queue.sqlite3")


class Command(BaseCommand):
    help = "Collection terminal: queue records offline (add), send them when online (flush), show the queue (status)."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--queue", default=DEFAULT_QUEUE,
                            help="the queue file (SQLite; env GOVDESK_SYNC_QUEUE), default %(default)s")
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="queue a record (a JSON file of the record's fields, or - for stdin)")
        add.add_argument("record", help="JSON: the fields of /api/v1/veterans/records/sync's data")
        add.add_argument("--attach", action="append", default=[], metavar="KIND=FILE",
                         help="a scanned document, e.g. id_card=scan.jpg (repeatable)")
        add.add_argument("--submit", action="store_true", help="submit for review once the documents are in")
        add.add_argument("--uuid", help="the record's UUID (default: a new one)")
        add.add_argument("--base-version", type=int, help="for an edit: the version being edited")
        flush = sub.add_parser("flush", help="send everything queued")
        flush.add_argument("--server", default=os.environ.get("GOVDESK_SERVER", ""),
                           help="e.g. https://govdesk.example.gov.cn (env GOVDESK_SERVER)")
        flush.add_argument("--token", default=os.environ.get("GOVDESK_DEVICE_TOKEN", ""),
                           help="the device's API token gdk_... (env GOVDESK_DEVICE_TOKEN)")
        flush.add_argument("--retries", type=int, default=6, help="attempts per request after the first")
        flush.add_argument("--backoff", type=float, default=0.5, help="first pause in seconds (doubles)")
        flush.add_argument("--chunk-kb", type=int, default=256, help="upload piece size in KB")
        flush.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
        sub.add_parser("status", help="show the queue")

    def handle(self, *args, action, queue, **options):
        spool = sync.Spool(queue)
        try:
            if action == "add":
                self._add(spool, **options)
            elif action == "flush":
                self._flush(spool, **options)
            else:
                self._status(spool)
        finally:
            spool.close()

    def _add(self, spool, *, record, attach, submit, uuid, base_version, **_):
        try:
            text = sys.stdin.read() if record == "-" else open(record, encoding="utf-8").read()
            data = json.loads(text)
        except (OSError, ValueError) as e:
            raise CommandError(f"读不了记录文件 {record}：{e}") from e
        attachments = []
        for item in attach:
            kind, _, path = item.partition("=")
            if not kind or not path:
                raise CommandError(f"附件应写成 类型=文件，如 id_card=scan.jpg：{item}")
            attachments.append((kind, path))
        try:
            record_uuid = spool.add(data, attachments=attachments, submit=submit, record_uuid=uuid,
                                    base_version=base_version)
        except sync.QueueError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(f"已加入队列：{record_uuid}")

    def _flush(self, spool, *, server, token, retries, backoff, chunk_kb, timeout, **_):
        if not server or not token:
            raise CommandError("请用 --server 和 --token（或环境变量 GOVDESK_SERVER、GOVDESK_DEVICE_TOKEN）指定服务器和终端令牌")
        client = sync.Client(server, token, retries=retries, backoff=backoff, chunk_size=chunk_kb * 1024,
                             timeout=timeout, log=lambda message: self.stderr.write(message))
        report = client.flush(spool)
        for message in report.messages:
            self.stderr.write(message)
        self.stdout.write(report.summary())
        self._status(spool)
        if report.stopped:
            sys.exit(2)

    def _status(self, spool):
        counts = spool.counts()
        self.stdout.write("队列：记录 待发送 {} / 已发送 {} / 冲突 {} / 被拒 {}；附件 待上传 {} / 已上传 {} / 被拒 {}".format(
            counts.get("records_queued", 0), counts.get("records_sent", 0), counts.get("records_conflict", 0),
            counts.get("records_refused", 0), counts.get("uploads_queued", 0), counts.get("uploads_done", 0),
            counts.get("uploads_refused", 0)))
        for row in spool.records():
            if row["state"] in ("conflict", "refused"):
                self.stdout.write(f"  {row['uuid']} {row['state']}：{row['message']}")
