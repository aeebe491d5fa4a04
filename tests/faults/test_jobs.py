"""Background jobs (``govdesk worker``) killed with SIGKILL in the middle of an import and of an
export: the database holds what the engine promises and no more, the job does not stay
"running" for ever, a restarted worker finishes it, and the audit chain still verifies.

Each test runs real processes against a copy of the session's deployment (see conftest.py)."""

from __future__ import annotations

import json

import openpyxl
import pytest

from .conftest import ROWS, STEP, injected, wait_for

WORKER = ("worker",)


def _failed_tasks(deployment) -> list[str]:
    return [row[0] for row in deployment.query(
        "SELECT exception_class_path FROM django_tasks_database_dbtaskresult WHERE status = 'FAILED'")]


@pytest.mark.parametrize(("mode", "runner"), [("valid", "worker"), ("all", "worker"), ("valid", "inline")])
def test_an_import_killed_mid_way_is_finished_by_the_restarted_worker(deployment, mode, runner):
    """``worker``: a background job, its worker killed. ``inline``: a table small enough to run in the
    web request (``GOVDESK_TABLE_BACKGROUND_ROWS``), its process killed — here the process that creates
    the job the way the page does, as a gunicorn worker would be killed with the server."""
    before = deployment.records()
    batch = deployment.world["batch_size"]
    path = str(deployment.folder / "import.xlsx")
    if runner == "worker":
        job_id = int(deployment.step("start-import", path, mode))
        assert deployment.job(job_id)["status"] == "queued"
        process = deployment.spawn(*WORKER, log="worker-1.log")
        wait_for(lambda: deployment.job(job_id)["status"] != "queued", 120, "the worker to take the job")
    else:
        process = deployment.spawn("start-import", path, mode, log="inline.log", command=STEP,
                                   env={"GOVDESK_TABLE_BACKGROUND_ROWS": str(10 * ROWS)})
        job_id = wait_for(lambda: deployment.scalar("SELECT MAX(id) FROM core_tablejob WHERE status = 'running'"),
                          120, "the job to start")

    def still():
        job = deployment.job(job_id)
        assert job["status"] == "running" and process.poll() is None, (job, deployment.log(process.log.name))

    deployment.wait_until_importing(mode, before, still)
    deployment.kill(process)

    job = deployment.job(job_id)
    written = deployment.records() - before
    assert job["status"] == "running", job  # nothing could mark it: the worker died
    if mode == "valid":
        assert written % batch == 0 and written < ROWS, f"{written} rows written: not whole batches of {batch}"
    else:
        assert written == 0, f"an all-or-nothing import left {written} rows"
    assert deployment.import_events() == before + written  # each row written with its audit event
    injected(f"SIGKILL {runner} during a {mode!r} import job, {written} of {ROWS} rows written")

    restarted = deployment.spawn(*WORKER, log="worker-2.log")
    job = wait_for(lambda: (j := deployment.job(job_id))["status"] in ("done", "failed") and j, 300,
                   "the restarted worker to finish the job", interval=0.2)
    assert job["status"] == "done", (job, deployment.log("worker-2.log"))
    assert job["summary"]["created"] == ROWS - written and job["summary"]["unchanged"] == written
    assert job["summary"]["errors"] == [] and job["done"] == job["total"] == ROWS
    if runner == "worker":  # the dead run, on record in the task list
        assert any(path.endswith("WorkerLost") for path in _failed_tasks(deployment))
    deployment.stop(restarted)

    after = json.loads(deployment.step("check", str(deployment.folder / "import.xlsx")))
    assert after == {"in_file": ROWS, "present": ROWS, "missing": 0, "doubled": 0, "import_events": ROWS,
                     "records": before + ROWS}
    verify = deployment.audit_verify()
    assert verify.returncode == 0, verify.stderr


def test_an_export_killed_mid_way_offers_no_file_until_the_rerun_wrote_a_whole_one(deployment):
    registered = deployment.records()
    job_id = int(deployment.step("start-export"))
    worker = deployment.spawn(*WORKER, log="worker-1.log")

    def working():
        job = deployment.job(job_id)
        assert job["status"] in ("queued", "running"), (job, deployment.log("worker-1.log"))
        return job["status"] == "running" and job["done"] > 0

    wait_for(working, 120, "the export to report progress", interval=0.02)
    deployment.kill(worker)

    job = deployment.job(job_id)
    injected(f"SIGKILL worker, export job, {job['done']} of {registered} rows exported")
    assert job["status"] == "running" and job["done"] < registered, job
    assert job["result_file"] == ""  # nothing to download: the job page offers no file
    assert list((deployment.folder / "tmp").iterdir()) == []  # no rows left behind in the system's temp folder
    exports = "SELECT COUNT(*) FROM core_auditevent WHERE action = 'export'"
    assert deployment.scalar(exports) == 0  # the export is audited once it is written

    restarted = deployment.spawn(*WORKER, log="worker-2.log")
    job = wait_for(lambda: (j := deployment.job(job_id))["status"] in ("done", "failed") and j, 300,
                   "the restarted worker to finish the export", interval=0.2)
    assert job["status"] == "done", (job, deployment.log("worker-2.log"))
    deployment.stop(restarted)

    assert job["summary"]["rows"] == registered and job["result_file"]
    book = openpyxl.load_workbook(deployment.folder / "files" / job["result_file"], read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert rows[0][:4] == ("编号", "姓名", "性别", "公民身份号码")
    assert len(rows) == registered + 1
    assert len({row[0] for row in rows[1:]}) == registered  # every record once
    assert all("*" in row[3] for row in rows[1:])  # ID numbers masked
    assert deployment.scalar(exports) == 1
    # the rows written before the kill waited in temporary files: not left in the system's temp folder,
    # and gone from the job's own folder once the rerun is done
    assert list((deployment.folder / "tmp").iterdir()) == []
    assert [p.name for p in (deployment.folder / "files" / job["result_file"]).parent.iterdir()] == ["export.xlsx"]
    verify = deployment.audit_verify()
    assert verify.returncode == 0, verify.stderr
