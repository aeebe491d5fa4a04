"""The reference sync client of a collection terminal: a local queue and a flush.

Standard library only (sqlite3, urllib), so it runs on a terminal without Django; the
command ``govdesk veterans sync-client`` (``veterans_sync_client``) wraps it. See
docs/VETERANS.md.

The queue is one SQLite file. Queuing a record gives it a UUID at once and copies its scanned
documents into a folder beside the file (``<queue>.files/``) with their SHA-256, so the
originals may go. Flushing sends, in the order queued:

1. each record to ``POST /api/v1/veterans/records/sync`` (its UUID makes a resend harmless:
   the server answers 200 with the same record);
2. then each of its documents as a resumable upload: declare (idempotent by the upload's own
   UUID; the answer says how many bytes arrived), then the rest in pieces with Content-Range.

A request that fails in transport (refused, reset, dropped before or after the server did
the work, timed out) or with 429/5xx is sent again after a backoff that doubles each time;
since every step is idempotent, nothing is doubled and nothing is lost. A 409 (the same UUID
with other content, a stale version, the person already registered) or another refusal is
kept in the queue as ``conflict``/``refused`` with the server's message for a person to deal
with; it is not retried. When one request keeps failing the flush stops and everything not
yet sent stays queued for the next flush.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',   -- queued | sent | conflict | refused
    attempts INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    server_id INTEGER,
    server_version INTEGER,
    queued_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS uploads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id TEXT NOT NULL UNIQUE,
    record_uuid TEXT NOT NULL REFERENCES records (uuid),
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',   -- queued | done | refused
    message TEXT NOT NULL DEFAULT ''
);
"""

MAGIC = [(b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf")]


class QueueError(Exception):
    """Something the person queuing must fix (a missing file, a type the server will refuse)."""


class TransportError(Exception):
    """The request may or may not have reached the server: send it again."""


class Stop(Exception):
    """The server refuses this device altogether (401/403): stop flushing."""


@dataclass
class Report:
    created: int = 0
    replayed: int = 0
    conflicts: int = 0
    refused: int = 0
    uploaded: int = 0
    retries: int = 0
    stopped: str = ""
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"新建 {self.created} 条，重复提交已确认 {self.replayed} 条，冲突 {self.conflicts} 条，"
                f"被拒 {self.refused} 条，附件上传完成 {self.uploaded} 个，重试 {self.retries} 次")
        return text + (f"；已停止：{self.stopped}" if self.stopped else "")


class Spool:
    """The local queue: one SQLite file and a folder of copied documents beside it."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.files = self.path.with_name(self.path.name + ".files")
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    def add(self, data: dict, *, attachments=(), submit: bool = False, record_uuid: str | None = None,
            base_version: int | None = None) -> str:
        """Queue a record and its documents ``[(kind, path), ...]``; returns the record's UUID.
        A record already queued under ``record_uuid`` is left as it is (queuing is idempotent)."""
        record_uuid = str(uuidlib.UUID(record_uuid)) if record_uuid else str(uuidlib.uuid4())
        files = []
        for kind, path in attachments:
            path = Path(path)
            if not path.is_file():
                raise QueueError(f"找不到文件：{path}")
            content = path.read_bytes()
            content_type = next((mime for magic, mime in MAGIC if content.startswith(magic)), None)
            if content_type is None:
                raise QueueError(f"只接受 JPEG、PNG 图片或 PDF 文件：{path}")
            files.append((kind, path, content_type, len(content), hashlib.sha256(content).hexdigest()))
        body = {"uuid": record_uuid, "data": data, "submit": bool(submit),
                "attachments": list(dict.fromkeys(kind for kind, *_ in files))}
        if base_version is not None:
            body["base_version"] = int(base_version)
        self.files.mkdir(parents=True, exist_ok=True)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if self.db.execute("SELECT 1 FROM records WHERE uuid = ?", (record_uuid,)).fetchone():
                return record_uuid
            self.db.execute("INSERT INTO records (uuid, body) VALUES (?, ?)",
                            (record_uuid, json.dumps(body, ensure_ascii=False)))
            for kind, path, content_type, size, sha in files:
                upload_id = str(uuidlib.uuid4())
                copy = self.files / f"{upload_id}{path.suffix.lower()}"
                shutil.copyfile(path, copy)
                self.db.execute("INSERT INTO uploads (upload_id, record_uuid, kind, filename, content_type, size, "
                                "sha256, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (upload_id, record_uuid, kind, path.name, content_type, size, sha, str(copy)))
        return record_uuid

    def records(self, state: str | None = None) -> list[sqlite3.Row]:
        if state:
            return self.db.execute("SELECT * FROM records WHERE state = ? ORDER BY seq", (state,)).fetchall()
        return self.db.execute("SELECT * FROM records ORDER BY seq").fetchall()

    def uploads(self, record_uuid: str | None = None, state: str | None = None) -> list[sqlite3.Row]:
        sql, args = "SELECT * FROM uploads WHERE 1 = 1", []
        if record_uuid:
            sql, args = sql + " AND record_uuid = ?", args + [record_uuid]
        if state:
            sql, args = sql + " AND state = ?", args + [state]
        return self.db.execute(sql + " ORDER BY seq", args).fetchall()

    def counts(self) -> dict:
        out = {f"records_{row[0]}": row[1] for row in
               self.db.execute("SELECT state, COUNT(*) FROM records GROUP BY state")}
        out.update({f"uploads_{row[0]}": row[1] for row in
                    self.db.execute("SELECT state, COUNT(*) FROM uploads GROUP BY state")})
        return out

    def mark_record(self, record_uuid: str, state: str, message: str = "", server: dict | None = None):
        server = server or {}
        self.db.execute("UPDATE records SET state = ?, message = ?, server_id = COALESCE(?, server_id), "
                        "server_version = COALESCE(?, server_version), attempts = attempts + 1, "
                        "sent_at = CASE WHEN ? = 'sent' THEN CURRENT_TIMESTAMP ELSE sent_at END WHERE uuid = ?",
                        (state, message, server.get("id"), server.get("version"), state, record_uuid))

    def mark_upload(self, upload_id: str, state: str, message: str = ""):
        self.db.execute("UPDATE uploads SET state = ?, message = ? WHERE upload_id = ?", (state, message, upload_id))
        if state == "done":
            row = self.db.execute("SELECT path FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
            Path(row["path"]).unlink(missing_ok=True)


class Client:
    """Talks to the server with a device token; every request is retried with backoff."""

    def __init__(self, server: str, token: str, *, retries: int = 6, backoff: float = 0.5, max_backoff: float = 30.0,
                 chunk_size: int = 256 * 1024, timeout: float = 30.0, sleep=time.sleep, log=None):
        self.base = server.rstrip("/") + "/api/v1/veterans"
        self.token = token
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.chunk_size, self.timeout = chunk_size, timeout
        self.sleep = sleep
        self.log = log or (lambda message: None)
        self.report = Report()

    # --- transport -----------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        """(status, json) of one attempt; transport failures and 429/5xx raise TransportError."""
        all_headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                       "Connection": "close", **(headers or {})}
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=all_headers)
        try:
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as response:
                    status, raw = response.status, response.read()
            except urllib.error.HTTPError as e:  # an answer, only not a 2xx
                status, raw = e.code, e.read()
        except (OSError, http.client.HTTPException) as e:  # URLError, resets and timeouts are OSErrors
            raise TransportError(f"{method} {path}: {e}") from e
        if status == 429 or status >= 500:
            raise TransportError(f"{method} {path}: HTTP {status}")
        try:
            payload = json.loads(raw or b"{}")
        except ValueError as e:
            raise TransportError(f"{method} {path}: 响应不是 JSON（HTTP {status}）") from e
        if status in (401, 403):
            raise Stop(payload.get("message") or f"HTTP {status}")
        return status, payload

    def with_retries(self, step, what: str):
        """Run ``step()`` until it gets an answer, doubling the pause after each failure."""
        for attempt in range(self.retries + 1):
            try:
                return step()
            except TransportError as e:
                if attempt == self.retries:
                    raise
                self.report.retries += 1
                pause = min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
                self.log(f"{what}：连接失败（{e}），{pause:.1f} 秒后重试")
                self.sleep(pause)

    def json(self, method: str, path: str, payload: dict):
        return self.request(method, path, body=json.dumps(payload, ensure_ascii=False).encode(),
                            headers={"Content-Type": "application/json"})

    # --- flushing -----------------------------------------------------------------------------

    def flush(self, spool: Spool) -> Report:
        """Send everything queued; returns what happened. Safe to run again at any time."""
        try:
            for row in spool.records("queued"):
                self._send_record(spool, row)
            for row in spool.records("sent"):
                for upload in spool.uploads(row["uuid"], "queued"):
                    self._send_upload(spool, upload)
        except TransportError as e:
            self.report.stopped = f"服务器暂时无法连接，未发送的内容仍在队列中：{e}"
        except Stop as e:
            self.report.stopped = f"服务器拒绝了本终端：{e}"
        return self.report

    def _send_record(self, spool: Spool, row):
        body = json.loads(row["body"])
        status, answer = self.with_retries(lambda: self.json("POST", "/records/sync", body), f"记录 {row['uuid']}")
        if status in (200, 201):
            spool.mark_record(row["uuid"], "sent", server=answer)
            if status == 201:
                self.report.created += 1
            else:
                self.report.replayed += 1
            return
        message = answer.get("message") or f"HTTP {status}"
        state = "conflict" if status == 409 else "refused"
        spool.mark_record(row["uuid"], state, message)
        if state == "conflict":
            self.report.conflicts += 1
        else:
            self.report.refused += 1
        self.report.messages.append(f"{body['data'].get('name', row['uuid'])}：{message}")

    def _send_upload(self, spool: Spool, upload):
        content = Path(upload["path"]).read_bytes()
        for _round in range(2):  # a file damaged on the way is discarded by the server: send it once more
            done, message = self._upload(upload, content)
            if done:
                spool.mark_upload(upload["upload_id"], "done")
                self.report.uploaded += 1
                return
            if message != "corrupt":
                break
        spool.mark_upload(upload["upload_id"], "refused", message)
        self.report.refused += 1
        self.report.messages.append(f"附件 {upload['filename']}：{message}")

    def _upload(self, upload, content: bytes) -> tuple[bool, str]:
        """Declare (or learn how much arrived), then send the rest piece by piece; each request
        is retried on its own, so every answered request is progress."""
        what = f"附件 {upload['filename']}"
        status, answer = self.with_retries(lambda: self.json("POST", f"/records/{upload['record_uuid']}/uploads", {
            "upload_id": upload["upload_id"], "kind": upload["kind"], "size": upload["size"],
            "sha256": upload["sha256"], "content_type": upload["content_type"],
            "filename": upload["filename"]}), what)
        if status not in (200, 201):
            return False, answer.get("message") or f"HTTP {status}"
        while not answer.get("complete"):
            received = answer["received"]
            piece = content[received:received + self.chunk_size]
            headers = {"Content-Type": "application/octet-stream",
                       "Content-Range": f"bytes {received}-{received + len(piece) - 1}/{len(content)}"}
            status, answer = self.with_retries(
                lambda p=piece, h=headers: self.request("PUT", f"/uploads/{upload['upload_id']}", body=p, headers=h),
                what)
            if status == 409 and answer.get("code") in ("offset_mismatch", "chunk_mismatch"):
                status, answer = self.with_retries(
                    lambda: self.request("GET", f"/uploads/{upload['upload_id']}"), what)
            if status == 400 and answer.get("code") == "corrupt":
                return False, "corrupt"
            if status != 200:
                return False, answer.get("message") or f"HTTP {status}"
        return True, ""
