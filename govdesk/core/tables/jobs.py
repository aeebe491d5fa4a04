"""Imports and exports as jobs the user can leave and come back to.

    job = table_job_start(actor=request.user, direction="import", kind="orgunits",
                          file=request.FILES["file"], filename=request.FILES["file"].name, mode="valid")
    # small tables ran already (job.status == "done"); big ones are queued: poll job.percent
    job_download(job)   # FileResponse: the error workbook of an import, the file of an export

A job records who ran what, its progress (``total``/``done``), its outcome
(``summary``: ``ImportResult.summary()`` for an import, ``{"rows": n}`` for an
export), the uploaded file and the result file. Tables up to
``settings.TABLE_BACKGROUND_ROWS`` rows run inline in the request; larger ones go
to the task queue (django-tasks) once the creating transaction commits.
Running a task twice is harmless: a finished job is not redone, and an import
that stopped half way reruns idempotently (rows already written come back
``unchanged``). A job whose process died (a worker killed or out of memory, the server killed
during a small job run inline, the machine restarted) shows "running" until a worker starts
again on that host: ``table_jobs_recover`` (run by ``govdesk worker`` as it starts) queues it again. The upload is deleted once a real import is done (a dry run keeps it
for the commit that follows). Files live under ``MEDIA_ROOT/jobs/<id>-<random>/``: that folder
must not be served directly; downloads go through ``job_download`` after the
view fetched the job with ``get_in_reach`` (a job is its owner's only).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.http import FileResponse
from django.utils import timezone
from django_tasks import task

from ..errors import Forbidden, NotInReach, ServiceError
from ..models import TableJob
from . import schema as registry
from .export import download_response, export_filename, export_rows, may_unmask_export
from .read import FileInput, TableFileError, count_rows, load_bytes
from .run import ALL, MODES, actor_unit, errors_workbook, import_table

log = logging.getLogger(__name__)
Status = TableJob.Status
IMPORT, EXPORT = "import", "export"
PROGRESS_EVERY_SECONDS = 0.5
INTERNAL_ERROR = "处理时发生内部错误，请稍后重试或联系管理员"
_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv", ".txt"}


def jobs_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "jobs"


def job_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def _job_folder(job: TableJob) -> str:
    return f"jobs/{job.pk}-{secrets.token_hex(8)}"


def table_job_start(*, actor, direction: str, kind: str, file: FileInput | None = None, filename: str = "",
                    mode: str = ALL, dry_run: bool = False, filters: dict | None = None,
                    unmask: bool = False) -> TableJob:
    """Create the job of an import (``file``, ``mode``, ``dry_run``) or an export
    (``filters`` for the table's ``export_query``; ``unmask`` if the user may see
    personal data in full), then run it now or queue it by its size.

    Raises ``UnknownTable``, ``TableFileError`` (a file refused before any work: too
    large, not a spreadsheet) or ``ServiceError``. Returns the job (refresh it to poll)."""
    schema = registry.get(kind)
    if direction not in (IMPORT, EXPORT):
        raise ValueError("direction must be 'import' or 'export'")
    unit = actor_unit(actor)
    if unit is None:
        raise ServiceError("还没有任何组织单位")
    params: dict = {}
    if direction == IMPORT:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if not schema.importable:
            raise ServiceError(schema.not_importable_message)
        if file is None:
            raise ServiceError("请选择要导入的文件")
        data = load_bytes(file)
        if not filename:
            filename = os.path.basename(os.fspath(file)) if isinstance(file, (str, os.PathLike)) else ""
        filename = filename or os.path.basename(getattr(file, "name", "") or "") or "upload"
        rows = count_rows(data, filename)
    else:
        if not schema.exportable:
            raise ServiceError(f"「{schema.title}」不能导出")
        if unmask and not may_unmask_export(actor, schema):
            raise Forbidden("您的角色无权导出完整的个人敏感信息")
        params = {"filters": filters or {}, "unmask": bool(unmask)}
        rows = schema.export_query(actor, filters or {}).count()
        mode, dry_run = "", False
    job = TableJob.objects.create(direction=direction, kind=kind, mode=mode, dry_run=dry_run, user=actor,
                                  org_unit=unit, source_name=filename[:255], params=params, total=rows)
    folder = _job_folder(job)
    if direction == IMPORT:
        suffix = Path(filename).suffix.lower()
        relative = f"{folder}/source{suffix if suffix in _SUFFIXES else '.bin'}"
        target = job_path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        job.source_file = relative
    job.params = {**params, "folder": folder}
    job.save(update_fields=["source_file", "params"])
    run = table_import_task if direction == IMPORT else table_export_task
    if rows <= settings.TABLE_BACKGROUND_ROWS:
        run_job(job.pk, reraise=False)
        job.refresh_from_db()
    else:
        transaction.on_commit(lambda: run.enqueue(job_id=job.pk))
    return job


# --- progress -------------------------------------------------------------------------------

def _update_in_own_connection(job_id: int, fields: dict) -> None:
    try:
        TableJob.objects.filter(pk=job_id).update(**fields)
    finally:
        connections.close_all()  # this thread's connections only


def _save(job_id: int, **fields) -> None:
    """Write progress so that a page polling the job sees it now.

    Inside the import's transaction (an all-or-nothing import) an UPDATE would stay
    invisible until the end, so it goes through a connection of its own; SQLite has
    one writer at a time and the import holds it, so there the bar moves at commit."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        TableJob.objects.filter(pk=job_id).update(**fields)
    elif connection.vendor != "sqlite":
        worker = threading.Thread(target=_update_in_own_connection, args=(job_id, fields), daemon=True)
        worker.start()
        worker.join(timeout=10)


def _progress(job_id: int):
    last = [0.0]

    def report(done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS and (total is None or done < total):
            return
        last[0] = now
        _save(job_id, done=done, **({"total": total} if total is not None else {}))

    return report


def _finish(job: TableJob, **fields) -> None:
    fields.setdefault("finished_at", timezone.now())
    TableJob.objects.filter(pk=job.pk).update(**fields)


# --- running ---------------------------------------------------------------------------------

def run_job(job_id: int, *, reraise: bool = True) -> dict:
    """Run a job (the tasks and the inline path call this); returns its summary."""
    job = TableJob.objects.select_related("user", "org_unit").get(pk=job_id)
    if job.status == Status.DONE:
        return job.summary
    TableJob.objects.filter(pk=job.pk).update(status=Status.RUNNING, done=0, error="", finished_at=None,
                                              params={**job.params, "runner": process_id()})
    try:
        summary, result_file = (_run_import if job.direction == IMPORT else _run_export)(job)
    except (TableFileError, registry.UnknownTable, ServiceError) as e:
        _finish(job, status=Status.FAILED, error=e.message)
        return {}
    except Exception:
        log.exception("table job %s failed", job.pk)
        _finish(job, status=Status.FAILED, error=INTERNAL_ERROR)
        if reraise:
            raise
        return {}
    _finish(job, status=Status.DONE, summary=summary, result_file=result_file, total=job.total, done=job.total)
    if job.source_file and not job.dry_run:
        # The upload may hold personal data (and initial passwords): keep it no longer than the work
        # needs. A dry run keeps it, since committing it imports the same file.
        job_path(job.source_file).unlink(missing_ok=True)
    return summary


def _run_import(job: TableJob) -> tuple[dict, str]:
    result = import_table(actor=job.user, kind=job.kind, file=job_path(job.source_file), filename=job.source_name,
                          mode=job.mode or ALL, dry_run=job.dry_run, progress=_progress(job.pk))
    job.total = result.rows
    result_file = ""
    if result.errors:
        result_file = f"{job.params['folder']}/errors.xlsx"
        job_path(result_file).write_bytes(errors_workbook(result))
    return result.summary(), result_file


def _run_export(job: TableJob) -> tuple[dict, str]:
    schema = registry.get(job.kind)
    filters = job.params.get("filters") or {}
    # checked again: roles may have changed since the job was queued
    unmask = bool(job.params.get("unmask")) and may_unmask_export(job.user, schema)
    queryset = schema.export_query(job.user, filters)
    result_file = f"{job.params['folder']}/export.xlsx"
    target = job_path(result_file)
    # The rows wait in temporary files until the workbook is closed: keep them in the job's folder (never
    # served), not in the system's, and remove what a run that was killed half way left there.
    scratch = target.parent / "tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    report = _progress(job.pk)
    try:
        count = export_rows(actor=job.user, kind=job.kind, title=schema.title, columns=schema.export_columns,
                            queryset=queryset, path_or_stream=target, unmask=unmask, filters=filters,
                            progress=lambda n: report(n), tmpdir=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    job.total = count
    return {"rows": count, "unmasked": unmask}, result_file


@task()
def table_import_task(job_id: int) -> dict:
    """Background import of a ``TableJob`` (queued by ``table_job_start``)."""
    return run_job(job_id)


@task()
def table_export_task(job_id: int) -> dict:
    """Background export of a ``TableJob`` (queued by ``table_job_start``)."""
    return run_job(job_id)


# --- jobs whose process died -----------------------------------------------------------------

class WorkerLost(Exception):
    """The process that ran a job died before finishing it (recorded as its task's failure)."""


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot; Linux), "" where that is unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_id() -> str:
    """This process as ``host:pid:start``: a process of this host can later tell whether it still lives
    (the start time tells a reused pid apart). ``govdesk worker`` claims tasks under it (with a random
    suffix, as worker ids must be unique) and ``run_job`` notes it on the job it runs."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{_started(os.getpid())}"


def worker_id() -> str:
    return f"{process_id()}:{secrets.token_hex(4)}"


def _gone(process: str) -> bool:
    """Whether ``process`` (from ``process_id``) ran on this host and is gone. A process of another
    host, or an id of another form, is never declared gone: only that host can tell."""
    host, pid_text, started = (process.split(":") + ["", ""])[:3]
    if host != socket.gethostname()[:40] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, under another account
    return bool(started) and _started(pid) not in ("", started)  # the pid now belongs to another process


def _requeue(job_id: int) -> bool:
    """Put a job that is not done back in the queue (inside the caller's transaction)."""
    job = TableJob.objects.filter(pk=job_id).exclude(status=Status.DONE).only("direction").first()
    if job is None:
        return False
    TableJob.objects.filter(pk=job_id).update(status=Status.QUEUED, done=0, error="", finished_at=None)
    (table_import_task if job.direction == IMPORT else table_export_task).enqueue(job_id=job_id)
    return True


def table_jobs_recover() -> int:
    """Queue again the jobs whose process died mid-way; returns how many (``govdesk worker`` calls
    this as it starts, before it takes any task).

    1. A task the database backend shows as running under a worker of this host that is gone is
       marked failed (``WorkerLost``); its table job, unless done, goes back to the queue.
    2. A job shown as running by a process of this host that is gone (a web request running a small
       job inline, killed with the server) goes back to the queue too.

    Rerunning is safe (see the module docstring): an "all" import had written nothing, a "valid"
    import's committed batches come back "unchanged", an export is written again and offered only
    once complete. RQ deals with its own dead workers; the tasks part covers the database backend."""
    requeued = 0
    if settings.TASK_BACKEND == "database":
        from django_tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        ours = {table_import_task.module_path, table_export_task.module_path}
        for result in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING):
            if not result.worker_ids or not _gone(result.worker_ids[-1]):
                continue
            with transaction.atomic():
                if not DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
                        status=TaskResultStatus.FAILED, finished_at=timezone.now(),
                        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                        traceback=f"WorkerLost: worker {result.worker_ids[-1]} died while running this task\n"):
                    continue  # another worker starting at the same time dealt with it
                job_id = (result.args_kwargs.get("kwargs") or {}).get("job_id")
                if result.task_path in ours and job_id is not None and _requeue(job_id):
                    requeued += 1
                    log.warning("table job %s: worker %s died; queued again", job_id, result.worker_ids[-1])
                else:
                    log.warning("task %s (%s): worker %s died; marked failed", result.pk, result.task_path,
                                result.worker_ids[-1])
    for job in TableJob.objects.filter(status=Status.RUNNING).only("params"):
        runner = (job.params or {}).get("runner", "")
        if runner and _gone(runner):
            with transaction.atomic():
                if _requeue(job.pk):
                    requeued += 1
                    log.warning("table job %s: process %s died; queued again", job.pk, runner)
    return requeued


# --- downloads ---------------------------------------------------------------------------------

def job_download_name(job: TableJob) -> str:
    try:
        title = registry.get(job.kind).title
    except registry.UnknownTable:
        title = job.kind
    if job.direction == EXPORT:
        return export_filename(title)
    stem = Path(job.source_name).stem or title
    return f"{stem}-错误行.xlsx"


def job_download(job: TableJob) -> FileResponse:
    """The job's result file (an export, or an import's error workbook) as a download.
    The caller fetched ``job`` with ``get_in_reach(TableJob, request.user, pk=...)``."""
    if not job.result_file:
        raise NotInReach()
    return download_response(job_path(job.result_file), job_download_name(job))
