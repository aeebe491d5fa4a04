"""Backup and restore of a whole GovDesk: the database and the uploaded files.

An archive (tar.gz) holds ``manifest.json`` (when, which database, the data key's id, the
row count of every table and the head of every audit chain), the database in its own
engine's format (an SQLite online-backup copy, or ``pg_dump --format=custom``) and
``files/`` (everything under MEDIA_ROOT). Keys are never in the archive: restoring needs
the same GOVDESK_DATA_KEY (the manifest names its id so a mismatch is refused up front).
After a restore the row counts and audit chain heads are compared with the manifest and
the audit chain is verified.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from . import personal
from .audit import verify
from .models import AuditChain

FORMAT = 1


class BackupError(Exception):
    pass


def _key_id() -> str:
    return personal.encrypt("key-id").split(":")[0]


def table_counts() -> dict[str, int]:
    counts = {}
    for model in apps.get_models():
        if model._meta.managed and not model._meta.proxy:
            counts[model._meta.label_lower] = model._base_manager.count()
    return counts


def chain_heads() -> dict[str, list]:
    return {c.key: [c.seq, c.last_hash] for c in AuditChain.objects.order_by("key")}


def _pg_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "localhost"
    port = s.get("PORT") or "5432"
    return f"postgresql://{user}{password}@{host}:{port}/{s['NAME']}"


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} 失败：{result.stderr.strip()[:500]}")


def backup(out: str | os.PathLike) -> dict:
    """Write the archive; returns its manifest."""
    manifest = {
        "format": FORMAT, "created_at": timezone.now().isoformat(), "vendor": connection.vendor,
        "data_key_id": _key_id(), "counts": table_counts(), "chains": chain_heads(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if connection.vendor == "sqlite":
            db_file = tmp / "db.sqlite3"
            connection.ensure_connection()
            target = sqlite3.connect(db_file)
            with target:
                connection.connection.backup(target)  # consistent even while others write
            target.close()
        elif connection.vendor == "postgresql":
            db_file = tmp / "db.pgdump"
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={db_file}",
                  f"--dbname={_pg_url()}"])
        else:
            raise BackupError(f"不支持的数据库：{connection.vendor}")
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        with tarfile.open(out, "w:gz") as archive:
            archive.add(tmp / "manifest.json", arcname="manifest.json")
            archive.add(db_file, arcname=db_file.name)
            media = Path(settings.MEDIA_ROOT)
            if media.exists():
                archive.add(media, arcname="files")
    return manifest


def _safe_members(archive: tarfile.TarFile):
    for member in archive.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"备份文件中有不安全的路径：{member.name}")
        yield member


def restore(archive_path: str | os.PathLike) -> dict:
    """Replace the database and the files with the archive's; returns the manifest after
    checking counts, chain heads and the audit chain."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            with tarfile.open(archive_path, "r:gz") as archive:
                archive.extractall(tmp, members=_safe_members(archive), filter="data")
        except (tarfile.TarError, OSError) as e:
            raise BackupError(f"无法读取备份文件：{e}") from None
        try:
            manifest = json.loads((tmp / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise BackupError("备份文件缺少 manifest.json") from None
        if manifest.get("format") != FORMAT:
            raise BackupError("备份文件的格式版本不受支持")
        if manifest["vendor"] != connection.vendor:
            raise BackupError(f"备份来自 {manifest['vendor']}，当前数据库是 {connection.vendor}")
        if manifest["data_key_id"] != _key_id() and manifest["data_key_id"] not in personal._keys()[1]:
            raise BackupError("当前 GOVDESK_DATA_KEY 与备份时的密钥不同：请先配置备份时的数据密钥")

        if connection.vendor == "sqlite":
            db_path = Path(connection.settings_dict["NAME"])
            connections.close_all()
            for suffix in ("-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(tmp / "db.sqlite3", db_path)
        else:
            connections.close_all()
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                  f"--dbname={_pg_url()}", str(tmp / "db.pgdump")])

        media = Path(settings.MEDIA_ROOT)
        if media.exists():
            shutil.rmtree(media)
        if (tmp / "files").exists():
            shutil.copytree(tmp / "files", media)
        else:
            media.mkdir(parents=True, exist_ok=True)

    counts, chains = table_counts(), chain_heads()
    if counts != manifest["counts"]:
        differ = sorted(k for k in set(counts) | set(manifest["counts"]) if counts.get(k) != manifest["counts"].get(k))
        raise BackupError(f"恢复后的行数与备份不符：{', '.join(differ[:10])}")
    if chains != manifest["chains"]:
        raise BackupError("恢复后的审计链与备份不符")
    _checked, broken = verify()
    if broken is not None:
        raise BackupError(f"恢复后的审计链校验失败：链 {broken.chain} 第 {broken.seq} 条")
    return manifest
