import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from govdesk.conftest import PASSWORD, build_world
from govdesk.core.models import OrgUnit
from govdesk.core.tables.testing import xlsx_bytes

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def run_worker_once():
    """What `govdesk worker --batch` does, in a thread: take every queued task, then stop
    (the command itself installs signal handlers, which only the main thread may)."""
    from django_tasks_db.management.commands.db_worker import Worker

    def work():
        try:
            Worker(queue_names=["default"], interval=0.1, batch=True, backend_name="default", startup_delay=False,
                   max_tasks=None, worker_id="e2e-worker", excluded_queue_names=[]).run()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)


def test_upload_dry_run_errors_commit_and_progress(new_page, settings, tmp_path):
    world = build_world()
    settings.TABLE_BACKGROUND_ROWS = 10  # this file goes to the background worker
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    rows = [["T100-A", "社区", f"A-E{i:03d}", f"浏览器{i}社区"] for i in range(40)]
    rows.append(["T100-A", "小区", "A-BAD", "类型写错"])
    path = tmp_path / "社区名册.xlsx"
    path.write_bytes(xlsx_bytes([["上级编码", "类型", "编码", "名称"], *rows]))

    page = new_page()
    login(page, "admin", PASSWORD)
    page.get_by_role("link", name="表格导入导出").click()
    page.locator("a[href='/tables/orgunits/import/']").click()
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="上传并试运行").click()

    # the dry run runs in the background too: let a worker take it
    run_worker_once()
    expect(page.locator("#job-status")).to_contain_text("已完成", timeout=20000)
    expect(page.locator("#job-summary")).to_contain_text("将新增 40")
    expect(page.locator("#job-errors")).to_contain_text("类型")
    with page.expect_download() as download:
        page.locator("#errors-download").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.locator("select[name=mode]").select_option("valid")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="正式导入").click()
    expect(page.locator("#job-status")).to_contain_text("排队中")
    expect(page.get_by_role("progressbar")).to_be_visible()
    run_worker_once()
    expect(page.locator("#job-status")).to_contain_text("已完成", timeout=20000)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    assert OrgUnit.objects.filter(code__startswith="A-E", parent=world.street_a).count() == 40
    assert not OrgUnit.objects.filter(code="A-BAD").exists()
