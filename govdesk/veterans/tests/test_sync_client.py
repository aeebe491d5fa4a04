"""The reference sync client against the live server, through a TCP proxy that drops
connections both before a request reaches the server and after the server has done the work
but before the answer gets back: nothing lost, nothing doubled."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command

from govdesk.core import services as core_services
from govdesk.core.models import AuditEvent
from govdesk.veterans import sync
from govdesk.veterans.models import Attachment, Record, Upload
from govdesk.veterans.testing import FlakyProxy

from .conftest import PDF, id_number

pytestmark = pytest.mark.django_db(transaction=True)

SCAN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40  # 10 KB: three pieces of 4 KB


@pytest.fixture
def server(live_server):
    return live_server.thread.host, live_server.thread.port


@pytest.fixture
def token(vets):
    _token, key = core_services.token_create(actor=vets.collector_a, owner=vets.collector_a, name="采集终端 07")
    return key


def record_data(vets, seq, **extra):
    data = {"name": f"张建{seq}", "gender": "男", "ethnicity": "汉族", "id_number": id_number(seq=seq),
            "phone": "13812345678", "category": "tuiyishibing", "community_id": vets.world.community_a.pk,
            "household_address": "建设路 1 号", "residential_address": "建设路 1 号",
            "enlisted_on": "1993-03-01", "discharged_on": "1997-12-01"}
    data.update(extra)
    return data


def queue_with_documents(vets, tmp_path, n=4):
    scan, pdf = tmp_path / "身份证.jpg", tmp_path / "退伍证.pdf"
    scan.write_bytes(SCAN)
    pdf.write_bytes(PDF)
    spool = sync.Spool(tmp_path / "queue.sqlite3")
    uuids = []
    for seq in range(1, n + 1):
        attachments = [("id_card", scan), ("discharge_certificate", pdf)] if seq % 2 else []
        uuids.append(spool.add(record_data(vets, seq), attachments=attachments, submit=True))
    return spool, uuids


def test_a_flush_through_dropped_connections_loses_nothing_and_doubles_nothing(vets, server, token, tmp_path):
    spool, uuids = queue_with_documents(vets, tmp_path)
    proxy = FlakyProxy(server, ["drop_before", "pass", "drop_after", "pass", "pass"])
    try:
        client = sync.Client(proxy.url, token, retries=4, backoff=0.01, chunk_size=4096, timeout=20)
        report = client.flush(spool)
    finally:
        proxy.close()

    assert report.stopped == "" and report.conflicts == report.refused == 0
    assert proxy.counts["drop_before"] > 0 and proxy.counts["drop_after"] > 0 and report.retries > 0
    assert report.created + report.replayed == 4 and report.replayed > 0  # some 201s were lost on the way back
    assert report.uploaded == 4
    records = Record.objects.filter(uuid__in=uuids)
    assert records.count() == Record.objects.count() == 4
    for record in records:
        kinds = sorted(Attachment.objects.filter(record=record).values_list("kind", flat=True))
        assert kinds == (["discharge_certificate", "id_card"] if record.declared_attachments else [])
        assert record.status == "collected"  # complete, so submitted as the device asked
    assert sorted(Attachment.objects.values_list("sha256", flat=True)) == sorted(
        [hashlib.sha256(SCAN).hexdigest(), hashlib.sha256(PDF).hexdigest()] * 2)
    assert Upload.objects.filter(status="done").count() == 4
    assert AuditEvent.objects.filter(object_type="veterans.record", verb="collect").count() == 4
    assert AuditEvent.objects.filter(object_type="veterans.attachment").count() == 4
    assert spool.counts() == {"records_sent": 4, "uploads_done": 4}

    again = sync.Client(server_url(server), token).flush(spool)
    assert again.created == again.replayed == again.uploaded == 0 and Record.objects.count() == 4
    spool.close()


def server_url(server):
    return f"http://{server[0]}:{server[1]}"


def test_an_unreachable_server_keeps_everything_queued_until_it_answers(vets, server, token, tmp_path):
    spool, uuids = queue_with_documents(vets, tmp_path, n=2)
    proxy = FlakyProxy(server, ["drop_before"])
    try:
        report = sync.Client(proxy.url, token, retries=2, backoff=0.01, timeout=20).flush(spool)
        assert "暂时无法连接" in report.stopped and report.retries == 2
        assert Record.objects.count() == 0 and spool.counts() == {"records_queued": 2, "uploads_queued": 2}
        proxy.set_plan(["drop_after", "pass"])
        report = sync.Client(proxy.url, token, retries=3, backoff=0.01, chunk_size=4096, timeout=20).flush(spool)
    finally:
        proxy.close()
    assert report.stopped == ""
    assert sorted(str(u) for u in Record.objects.values_list("uuid", flat=True)) == sorted(uuids)
    assert Attachment.objects.count() == 2 and spool.counts() == {"records_sent": 2, "uploads_done": 2}
    spool.close()


def test_conflicts_and_refusals_stay_in_the_queue_with_the_servers_message(vets, server, token, tmp_path):
    spool = sync.Spool(tmp_path / "queue.sqlite3")
    first = spool.add(record_data(vets, 1))
    sync.Client(server_url(server), token).flush(spool)
    # the same UUID queued again (another device image) with other content; a person already registered
    other = sync.Spool(tmp_path / "other.sqlite3")
    other.add(record_data(vets, 1, name="张建军"), record_uuid=first)
    other.add(record_data(vets, 1))
    other.add(record_data(vets, 2, gender="女"))
    report = sync.Client(server_url(server), token).flush(other)
    assert report.conflicts == 2 and report.refused == 1
    states = [(row["state"], row["message"]) for row in other.records()]
    assert states[0] == ("conflict", "同一记录标识已提交过不同的内容；修改已有记录请注明所修改的版本")
    assert states[1][0] == "conflict" and "该身份证号已登记" in states[1][1]
    assert states[2] == ("refused", "性别与身份证号不符：身份证号显示为男性")
    assert Record.objects.count() == 1 and Record.objects.get().name == "张建1"
    spool.close()
    other.close()


def test_the_command_queues_shows_and_flushes(vets, server, token, tmp_path):
    queue = str(tmp_path / "device.sqlite3")
    record_file = tmp_path / "record.json"
    record_file.write_text(json.dumps(record_data(vets, 3), ensure_ascii=False), encoding="utf-8")
    scan = tmp_path / "scan.jpg"
    scan.write_bytes(SCAN)
    out = io.StringIO()
    call_command("veterans_sync_client", "--queue", queue, "add", str(record_file), "--attach", f"id_card={scan}",
                 "--submit", stdout=out)
    assert "已加入队列" in out.getvalue()
    out = io.StringIO()
    call_command("veterans_sync_client", "--queue", queue, "status", stdout=out)
    assert "记录 待发送 1" in out.getvalue() and "附件 待上传 1" in out.getvalue()
    out = io.StringIO()
    call_command("veterans_sync_client", "--queue", queue, "flush", "--server", server_url(server), "--token", token,
                 stdout=out, stderr=io.StringIO())
    assert "新建 1 条" in out.getvalue() and "附件上传完成 1 个" in out.getvalue()
    assert "记录 待发送 0 / 已发送 1" in out.getvalue()
    record = Record.objects.get()
    assert record.status == "collected" and record.attachments.get().sha256 == hashlib.sha256(SCAN).hexdigest()
