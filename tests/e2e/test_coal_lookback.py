"""The look-back journey: the office launches it, a street officer works a task with a
photo, and the campaign's progress moves."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from govdesk.coal import services
from govdesk.coal.models import CampaignTask
from govdesk.conftest import PASSWORD, build_world
from govdesk.core import services as core_services
from govdesk.core.reach import Role

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


def test_the_office_launches_a_look_back_and_a_street_works_it_through(new_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world()
    department = core_services.orgunit_create(actor=world.root, parent=world.district, kind="department",
                                              code="T100-SMB", name="散煤办")
    services.office_designate(actor=world.admin, department=department)
    core_services.user_create(actor=world.root, username="sanmei", display_name="散煤办干部", password=PASSWORD,
                              role=Role.DEPARTMENT_OFFICER, unit=department)
    place = services.place_create(actor=world.officer_a, community=world.community_a, name="王记烧饼店",
                                  kind="restaurant", address="甲一社区 3 号楼")
    services.inspection_record(actor=world.officer_a, place=place, inspected_at=timezone.now() - timedelta(days=1),
                               findings={"coal_present": True, "coal_kind": "raw", "quantity_kg": "40",
                                         "rectification_ordered": True,
                                         "rectification_deadline": timezone.localdate() + timedelta(days=5)})
    today = timezone.localdate()

    office = new_page()
    login(office, "sanmei", PASSWORD)
    office.get_by_role("link", name="散煤治理").first.click()
    office.get_by_role("link", name="回头看", exact=True).click()
    office.get_by_role("link", name="发起回头看").click()
    office.fill("#id_title", "春季散煤回头看")
    office.fill("#id_period_start", today.isoformat())
    office.fill("#id_period_end", (today + timedelta(days=14)).isoformat())
    office.check("input[name=mode][value=problems]")
    office.fill("#id_cutoff", (today - timedelta(days=30)).isoformat())
    office.get_by_role("button", name="发起").click()
    expect(office.get_by_text("已发起回头看，生成 1 个复查任务")).to_be_visible()
    expect(office.locator("#campaign-progress")).to_contain_text("已复查 0/1")

    street = new_page()
    login(street, "officer_a", PASSWORD)
    street.get_by_role("link", name="散煤治理").first.click()
    street.get_by_role("link", name="回头看", exact=True).click()
    street.get_by_role("link", name="春季散煤回头看").click()
    street.get_by_role("link", name="王记烧饼店").click()
    expect(street.get_by_text("发现原煤 40.0 公斤")).to_be_visible()
    street.check("#id_educated")
    street.set_input_files("#id_photo", files=[{"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    street.get_by_role("button", name="保存复查结果").click()
    expect(street.get_by_text("复查结果已保存")).to_be_visible()
    expect(street.locator("#campaign-progress")).to_contain_text("已复查 1/1（100%）")

    office.reload()
    expect(office.locator("#campaign-progress")).to_contain_text("已复查 1/1")
    expect(office.get_by_role("cell", name="已清零")).to_be_visible()
    task = CampaignTask.objects.get()
    assert task.outcome == "clean_now" and task.result.photos.count() == 1
