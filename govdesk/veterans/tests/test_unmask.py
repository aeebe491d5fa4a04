"""Who may see a veteran's ID and phone number in full: the veterans department for the
district it is responsible for, street officers and collectors within their reach, district
administrators and supervisors as the core allows — each unmasking audited."""

import io

import openpyxl
import pytest
from django.urls import reverse

from govdesk.core.errors import Forbidden, NotInReach
from govdesk.core.models import AuditEvent
from govdesk.core.reach import Role
from govdesk.core.services import UNMASK_ROLES
from govdesk.veterans import services

from .conftest import id_number

pytestmark = pytest.mark.django_db


def unmasks(user, record) -> int:
    return AuditEvent.objects.filter(action="unmask", actor_id=user.pk, object_id=str(record.pk)).count()


def test_the_veterans_department_unmasks_records_across_its_district_audited(vets):
    a = vets.record(community=vets.world.community_a, seq=1)
    b = vets.record(actor=vets.collector_b, community=vets.world.community_b, seq=2)
    assert services.record_unmask(actor=vets.officer, record=a, field="id_number") == id_number(seq=1)
    assert services.record_unmask(actor=vets.officer, record=b, field="phone") == "13812345678"
    assert unmasks(vets.officer, a) == unmasks(vets.officer, b) == 1
    event = AuditEvent.objects.get(action="unmask", actor_id=vets.officer.pk, object_id=str(b.pk))
    assert (event.verb, event.unit_id) == ("phone", vets.world.community_b.pk)
    assert services.may_unmask_record(vets.officer, a) and services.may_unmask_record(vets.officer, b)


def test_collectors_and_street_officers_unmask_only_within_their_reach(vets):
    w = vets.world
    a = vets.record(community=w.community_a, seq=1)
    assert services.record_unmask(actor=vets.collector_a, record=a, field="id_number") == id_number(seq=1)
    assert services.record_unmask(actor=w.officer_a, record=a, field="id_number") == id_number(seq=1)
    for outsider in (vets.collector_b, w.officer_b, w.dept_officer, w.outsider):  # 商务局 is no veterans department
        with pytest.raises(NotInReach):
            services.record_unmask(actor=outsider, record=a, field="id_number")
        assert not services.may_unmask_record(outsider, a) and unmasks(outsider, a) == 0
    narrow = w.person("collector_b1", Role.COLLECTOR, w.community_b)  # a community-level collector
    with pytest.raises(NotInReach):
        services.record_unmask(actor=narrow, record=a, field="phone")


def test_supervisors_unmask_exactly_as_the_core_allows(vets, monkeypatch):
    a = vets.record(seq=1)
    supervisor = vets.world.supervisor
    assert (Role.SUPERVISOR in UNMASK_ROLES) is services.may_unmask_record(supervisor, a)
    assert services.record_unmask(actor=supervisor, record=a, field="id_number") == id_number(seq=1)
    assert unmasks(supervisor, a) == 1
    # were the core to withdraw it, the veterans app would follow (its roles derive from the core's)
    from govdesk.veterans import models
    monkeypatch.setattr(models, "UNMASKERS", models.UNMASKERS - {Role.SUPERVISOR})
    with pytest.raises(Forbidden):
        services.record_unmask(actor=supervisor, record=a, field="id_number")
    assert unmasks(supervisor, a) == 1


def test_the_record_page_offers_unmasking_to_the_department_and_audits_the_click(vets, client_for):
    record = vets.record(seq=1)
    client = client_for(vets.officer)
    page = client.get(reverse("veterans:record", args=[record.pk])).content.decode()
    assert reverse("veterans:record_unmask", args=[record.pk, "id_number"]) in page
    response = client.post(reverse("veterans:record_unmask", args=[record.pk, "id_number"]), follow=True)
    assert id_number(seq=1) in response.content.decode()
    assert unmasks(vets.officer, record) == 1
    assert client_for(vets.collector_b).post(
        reverse("veterans:record_unmask", args=[record.pk, "id_number"])).status_code == 404


def test_opening_the_edit_form_shows_the_number_in_clear_and_is_audited_as_an_unmasking(vets, client_for):
    record = vets.record(seq=1)
    page = client_for(vets.collector_a).get(reverse("veterans:record_edit", args=[record.pk])).content.decode()
    assert id_number(seq=1) in page
    event = AuditEvent.objects.get(action="unmask", actor_id=vets.collector_a.pk, object_id=str(record.pk))
    assert event.verb == "edit_form"
    assert client_for(vets.collector_b).get(reverse("veterans:record_edit", args=[record.pk])).status_code == 404
    assert client_for(vets.world.supervisor).get(reverse("veterans:record_edit", args=[record.pk])).status_code == 403
    assert AuditEvent.objects.filter(action="unmask").count() == 1


# --- the registry exported in full -------------------------------------------------------

def _export(client, **data):
    from govdesk.core.models import TableJob

    response = client.post(reverse("veterans:records_export"), data)
    assert response.status_code == 302
    job = TableJob.objects.filter(kind="veterans-records").latest("id")
    download = client.get(reverse("core:table_job_download", args=[job.pk]))
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    columns = {name: i for i, name in enumerate(rows[0])}
    return job, {r[columns["姓名"]]: (r[columns["公民身份号码"]], r[columns["联系电话"]]) for r in rows[1:]}


def test_the_veterans_bureau_exports_the_district_registry_in_full_and_it_is_audited(vets, client_for):
    vets.record(community=vets.world.community_a, seq=1, name="张甲")
    vets.record(actor=vets.collector_b, community=vets.world.community_b, seq=2, name="李乙")
    client = client_for(vets.officer)
    assert 'name="unmask"' in client.get(reverse("veterans:records")).content.decode()
    job, cells = _export(client, unmask="1")
    assert cells == {"张甲": (id_number(seq=1), "13812345678"), "李乙": (id_number(seq=2), "13812345678")}
    assert job.summary["unmasked"] is True
    event = AuditEvent.objects.get(action="unmask", actor_id=vets.officer.pk, object_type="table")
    assert event.changes["rows"] == 2 and "公民身份号码" in event.changes["columns"]
    _job, masked = _export(client)  # without the box ticked: masked, and no unmasking audited
    assert masked["张甲"] == (id_number(seq=1)[:6] + "********" + id_number(seq=1)[-4:], "138****5678")
    assert AuditEvent.objects.filter(action="unmask", actor_id=vets.officer.pk).count() == 1


def test_a_collector_exports_their_own_street_in_full_but_nobody_widens_their_reach(vets, client_for):
    vets.record(community=vets.world.community_a, seq=1, name="张甲")
    vets.record(actor=vets.collector_b, community=vets.world.community_b, seq=2, name="李乙")
    _job, cells = _export(client_for(vets.collector_a), unmask="1")
    assert cells == {"张甲": (id_number(seq=1), "13812345678")}


def test_a_reader_who_may_not_unmask_everything_gets_no_box_and_a_refusal(vets, client_for):
    from govdesk.core.models import TableJob
    from govdesk.veterans.imports import records_may_unmask

    vets.record(seq=1)
    reader = vets.world.outsider  # a login with no role in the veterans campaign
    assert not records_may_unmask(reader)
    client = client_for(reader)
    assert 'name="unmask"' not in client.get(reverse("veterans:records")).content.decode()
    response = client.post(reverse("veterans:records_export"), {"unmask": "1"}, follow=True)
    assert "无权导出完整的个人敏感信息" in response.content.decode()
    assert not TableJob.objects.exists() and not AuditEvent.objects.filter(action="unmask").exists()


def test_the_command_line_exports_in_full_only_for_whom_the_table_allows(vets, tmp_path):
    from django.core.management import call_command

    vets.record(seq=1, name="张甲")
    out = tmp_path / "registry.xlsx"
    call_command("export_table", "veterans-records", str(out), "--user", vets.officer.username, "--unmask",
                 stdout=io.StringIO())
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert id_number(seq=1) in rows[1]
    with pytest.raises(SystemExit) as exit_info:
        call_command("export_table", "veterans-records", str(out), "--user", vets.world.outsider.username,
                     "--unmask", stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == 2
