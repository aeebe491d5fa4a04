"""Offline collection in the browser: the form keeps working with the network gone (service
worker + IndexedDB queue), shows what waits, and sends it once when the network returns."""

import hashlib
import importlib

import pytest
from playwright.sync_api import expect
from stdnum.cn import ric

from govdesk.conftest import PASSWORD, build_world
from govdesk.core.reach import Role
from govdesk.veterans.models import Record

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCAN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40  # a 10 KB "JPEG"


def _id_number(seq: int) -> str:
    body = f"41010019750301{seq * 2 + 1:03d}"  # 郑州市, born 1975-03-01, a man
    return body + ric.calc_check_digit(body + "0")


def ensure_categories():
    from django.apps import apps
    importlib.import_module("govdesk.veterans.migrations.0002_seed_categories").seed(apps, None)


def fill(page, name: str, number: str, discharged_on: str = "1997-12-01"):
    page.fill("#id_name", name)
    page.fill("#id_id_number", number)
    page.select_option("#id_gender", "男")
    page.select_option("#id_category", "tuiyishibing")
    page.select_option("#id_community", label="甲街道 / 甲一社区")
    page.fill("#id_household_address", "郑州市中原区建设路 1 号")
    page.fill("#id_residential_address", "郑州市中原区建设路 1 号")
    page.fill("#id_enlisted_on", "1993-03-01")
    page.fill("#id_discharged_on", discharged_on)
    page.get_by_role("button", name="保存到本机并发送").click()


def test_records_collected_offline_wait_in_the_browser_and_arrive_once_when_back_online(new_page, settings,
                                                                                        tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ensure_categories()
    world = build_world()
    world.person("caiji_a", Role.COLLECTOR, world.street_a, name="甲街道采集员")

    page = new_page()
    login(page, "caiji_a", PASSWORD)
    page.goto("/veterans/")
    page.get_by_role("link", name="离线采集").click()
    expect(page.locator("#worker-state")).to_have_text("已可离线使用")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    expect(page.locator("#network-state")).to_have_text("在线")

    page.context.set_offline(True)
    expect(page.locator("#network-state")).to_contain_text("离线")
    # the worker has no network either, so what follows comes from its cache
    worker = page.context.service_workers[0]
    assert worker.evaluate("fetch('/veterans/offline/sw.js').then(() => 'online', () => 'offline')") == "offline"
    # the page itself comes back without the network, from the service worker's cache
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.locator("#network-state")).to_contain_text("离线")

    # the first comes with a scanned ID card and asks to go to review once the scan is in
    page.select_option("#offline-kind", "id_card")
    page.set_input_files("#offline-file", files=[{"name": "身份证.jpg", "mimeType": "image/jpeg", "buffer": SCAN}])
    page.get_by_role("button", name="添加扫描件").click()
    expect(page.locator(".offline-file")).to_have_text("身份证扫描件：身份证.jpg（11 KB）")
    page.check("#offline-submit")
    fill(page, "张建一", _id_number(1))
    expect(page.locator(".outbox-item")).to_have_count(1)
    expect(page.locator(".outbox-item")).to_contain_text("等待发送（含扫描件 1 份）")
    expect(page.locator(".offline-file")).to_have_count(0)
    fill(page, "王建二", _id_number(2))
    expect(page.locator(".outbox-item")).to_have_count(2)
    expect(page.locator("#outbox-count")).to_have_text("2")
    expect(page.locator(".outbox-item").first).to_contain_text("张建一 410100********")
    expect(page.locator(".outbox-item[data-state=waiting]")).to_have_count(2)
    assert Record.objects.count() == 0

    # a reload while still offline keeps the queue (IndexedDB)
    page.reload()
    expect(page.locator(".outbox-item")).to_have_count(2)

    page.context.set_offline(False)
    expect(page.locator("#network-state")).to_have_text("在线")
    expect(page.locator(".outbox-item")).to_have_count(0)
    expect(page.locator(".sent-item")).to_have_count(2)
    expect(page.locator("#outbox-count")).to_have_text("0")

    assert sorted(Record.objects.values_list("name", flat=True)) == ["张建一", "王建二"]
    first, second = Record.objects.get(name="张建一"), Record.objects.get(name="王建二")
    assert [(a.kind, a.sha256) for a in first.attachments.all()] == [("id_card", hashlib.sha256(SCAN).hexdigest())]
    assert first.status == "collected" and second.status == "draft" and not second.attachments.exists()
    assert set(Record.objects.values_list("collector__username", flat=True)) == {"caiji_a"}
    page.get_by_role("link", name="信息台账").click()
    expect(page.get_by_role("link", name="张建一")).to_have_count(1)
    expect(page.get_by_role("link", name="王建二")).to_have_count(1)


def test_a_record_the_server_refuses_stays_in_the_queue_with_the_reason(new_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ensure_categories()
    world = build_world()
    world.person("caiji_a", Role.COLLECTOR, world.street_a, name="甲街道采集员")
    page = new_page()
    login(page, "caiji_a", PASSWORD)
    page.goto("/veterans/offline/")
    expect(page.locator("#network-state")).to_have_text("在线")
    page.fill("#id_name", "李秀英")
    page.get_by_role("button", name="保存到本机并发送").click()
    expect(page.locator("#offline-form-error")).to_contain_text("请填写：公民身份号码")
    fill(page, "李秀英", _id_number(3))
    expect(page.locator(".sent-item")).to_have_count(1)
    fill(page, "赵退回", _id_number(4), discharged_on="1990-01-01")
    refused = page.locator(".outbox-item[data-state=refused]")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("退役时间应晚于入伍时间")
    assert list(Record.objects.values_list("name", flat=True)) == ["李秀英"]
