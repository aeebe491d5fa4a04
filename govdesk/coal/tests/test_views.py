"""Pages: the role × reach matrix, what each person sees, and the forms end to end."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from govdesk.coal import services
from govdesk.coal.models import (
    Campaign,
    CampaignTask,
    Inspection,
    NoticeAllocation,
    NoticePosting,
    Photo,
    Place,
)
from govdesk.core.testing import assert_status_matrix

from .conftest import COAL, ago, rectify
from .test_inspections import JPEG

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world, coal):
    insp_a, _ = services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(),
                                           findings=rectify(), photos=[SimpleUploadedFile("a.jpg", JPEG)])
    insp_b, _ = services.inspection_record(actor=world.officer_b, place=coal.place_b, inspected_at=ago(),
                                           findings=COAL)
    campaign = services.campaign_launch(actor=coal.office.officer, district=world.district, title="春季回头看",
                                        period_start=ago(1).date(), period_end=ago(-10).date(), mode="problems",
                                        cutoff=ago(5).date())
    batch = services.batch_receive(actor=coal.office.officer, district=world.district, title="禁煤通告", count=50,
                                   source="市散煤办", received_on=ago(3).date())
    return dict(insp_a=insp_a, insp_b=insp_b, campaign=campaign, batch=batch,
                task_a=campaign.tasks.get(street=world.street_a), task_b=campaign.tasks.get(street=world.street_b),
                photo=Photo.objects.get())


def test_detail_pages_answer_404_outside_reach(world, coal, setup, client_for):
    office = coal.office.officer
    cases = []
    for url_a, url_b in [
        (reverse("coal:place", args=[coal.place_a.pk]), reverse("coal:place", args=[coal.place_b.pk])),
        (reverse("coal:inspection", args=[setup["insp_a"].pk]), reverse("coal:inspection", args=[setup["insp_b"].pk])),
        (reverse("coal:task", args=[setup["task_a"].pk]), reverse("coal:task", args=[setup["task_b"].pk])),
    ]:
        cases += [(world.officer_a, url_a, 200), (world.officer_a, url_b, 404), (world.officer_b, url_a, 404),
                  (office, url_a, 200), (office, url_b, 200), (world.supervisor, url_b, 200),
                  (world.dept_officer, url_a, 404), (world.outsider, url_a, 404)]
    photo = reverse("coal:photo", args=[setup["photo"].pk])
    cases += [(world.officer_a, photo, 200), (world.officer_b, photo, 404), (world.supervisor, photo, 200)]
    campaign = reverse("coal:campaign", args=[setup["campaign"].pk])
    cases += [(world.officer_a, campaign, 200), (world.supervisor, campaign, 200), (world.dept_officer, campaign, 404)]
    assert_status_matrix(client_for, cases)


def test_a_photo_is_served_only_through_its_page_with_its_type(world, coal, setup, client_for):
    response = client_for(world.officer_a).get(reverse("coal:photo", args=[setup["photo"].pk]))
    assert response["Content-Type"] == "image/jpeg" and b"".join(response.streaming_content) == JPEG


def test_change_pages_answer_404_outside_reach_and_403_to_read_only_people(world, coal, setup, client_for):
    edit_a = reverse("coal:place_edit", args=[coal.place_a.pk])
    inspect_a = reverse("coal:inspection_create", args=[coal.place_a.pk])
    assert_status_matrix(client_for, [
        (world.officer_a, edit_a, 200), (world.officer_a, inspect_a, 200),
        (world.officer_b, edit_a, 404), (world.officer_b, inspect_a, 404),
        (world.supervisor, edit_a, 403), (coal.office.officer, inspect_a, 403),
    ])


def test_the_places_list_shows_only_the_streets_places_and_filters(world, coal, client_for):
    services.place_create(actor=world.officer_a, community=world.community_a, name="张记煤球站", kind="sales_point",
                          address="甲一社区 8 号")
    body = client_for(world.officer_a).get(reverse("coal:places")).content.decode()
    assert "王记烧饼店" in body and "张记煤球站" in body and "李某某家" not in body
    body = client_for(coal.office.officer).get(reverse("coal:places"), {"kind": "sales_point"}).content.decode()
    assert "张记煤球站" in body and "王记烧饼店" not in body
    body = client_for(coal.office.officer).get(reverse("coal:places"), {"street": world.street_b.pk}).content.decode()
    assert "李某某家" in body and "王记烧饼店" not in body
    response = client_for(world.officer_a).get(reverse("coal:places"), {"q": "烧饼"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "王记烧饼店" in body and "张记煤球站" not in body and "<html" not in body


def test_the_places_list_pages_by_keyset_with_a_bounded_number_of_queries(world, coal, client_for,
                                                                          django_assert_max_num_queries):
    for i in range(60):
        services.place_create(actor=world.officer_a, community=world.community_a, name=f"住户{i:02d}",
                              kind="household", address=f"{i} 号")
    client = client_for(world.officer_a)
    with django_assert_max_num_queries(15):
        first = client.get(reverse("coal:places"))
    page = first.context["page"]
    assert len(page.rows) == 50 and page.has_next
    second = client.get(reverse("coal:places") + page.next_url)
    assert len(second.context["page"].rows) == 11  # 60 + 王记烧饼店 = 61
    assert not {p.pk for p in page.rows} & {p.pk for p in second.context["page"].rows}


def test_a_street_officer_creates_a_place_and_records_an_inspection_with_a_photo(world, coal, client_for):
    client = client_for(world.officer_a)
    response = client.post(reverse("coal:place_create"), {
        "community": world.community_a.pk, "name": "赵记胡辣汤", "kind": "restaurant", "address": "甲一社区 9 号",
        "contact_name": "赵", "contact_phone": "13900001111"})
    place = Place.objects.get(name="赵记胡辣汤")
    assert response.status_code == 302 and response["Location"] == reverse("coal:place", args=[place.pk])
    at = timezone.localtime(ago()).strftime("%Y-%m-%dT%H:%M")
    deadline = (timezone.localdate() + timedelta(days=7)).isoformat()
    response = client.post(reverse("coal:inspection_create", args=[place.pk]), {
        "inspected_at": at, "coal_present": "on", "coal_kind": "briquette", "quantity_kg": "30",
        "rectification_ordered": "on", "rectification_deadline": deadline, "close": "on",
        "photo": SimpleUploadedFile("scene.jpg", JPEG, content_type="image/jpeg")})
    inspection = Inspection.objects.get(place=place)
    assert response.status_code == 302 and inspection.state == "closed" and inspection.photos.count() == 1
    body = client.get(reverse("coal:place", args=[place.pk])).content.decode()
    assert "发现蜂窝煤 30.0 公斤" in body and f"下达整改，期限 {deadline}" in body and "整改中" in body


def test_bad_inspection_input_shows_a_chinese_message_and_writes_nothing(world, coal, client_for):
    response = client_for(world.officer_a).post(reverse("coal:inspection_create", args=[coal.place_a.pk]), {
        "inspected_at": timezone.localtime(ago()).strftime("%Y-%m-%dT%H:%M"), "coal_present": "on",
        "coal_kind": "raw", "quantity_kg": "10", "rectification_ordered": "on", "close": "on",
        "photo": SimpleUploadedFile("fake.jpg", b"not an image", content_type="image/jpeg")})
    assert response.status_code == 200
    assert "请填写整改期限" in response.content.decode()
    response = client_for(world.officer_a).post(reverse("coal:inspection_create", args=[coal.place_a.pk]), {
        "inspected_at": timezone.localtime(ago()).strftime("%Y-%m-%dT%H:%M"), "educated": "on", "close": "on",
        "photo": SimpleUploadedFile("fake.jpg", b"not an image", content_type="image/jpeg")})
    assert "只能上传 JPEG 或 PNG 照片" in response.content.decode()
    assert Inspection.objects.count() == 0 and Photo.objects.count() == 0


def test_the_supervisor_cannot_post_anything(world, coal, setup, client_for):
    client = client_for(world.supervisor)
    count = Inspection.objects.count()
    client.post(reverse("coal:inspection_create", args=[coal.place_a.pk]), {"inspected_at": "2026-01-01T10:00"})
    client.post(reverse("coal:place_close_down", args=[coal.place_a.pk]))
    client.post(reverse("coal:campaign_close", args=[setup["campaign"].pk]))
    assert Inspection.objects.count() == count
    assert Place.objects.get(pk=coal.place_a.pk).status != "closed_down"
    assert Campaign.objects.get().status == "open"


def test_the_office_launches_a_look_back_and_a_street_records_a_task(world, coal, client_for):
    services.inspection_record(actor=world.officer_a, place=coal.place_a, inspected_at=ago(), findings=COAL)
    office = client_for(coal.office.officer)
    response = office.post(reverse("coal:campaign_create"), {
        "title": "冬季回头看", "period_start": ago(0).date().isoformat(), "period_end": ago(-7).date().isoformat(),
        "mode": "problems", "cutoff": ago(3).date().isoformat()})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and campaign.tasks.count() == 1
    task = campaign.tasks.get()
    street = client_for(world.officer_a)
    body = street.get(reverse("coal:campaign", args=[campaign.pk])).content.decode()
    assert "已复查 0/1" in body and "王记烧饼店" in body
    response = street.post(reverse("coal:task", args=[task.pk]), {
        "inspected_at": timezone.localtime(ago()).strftime("%Y-%m-%dT%H:%M"), "educated": "on",
        "photo": SimpleUploadedFile("re.jpg", JPEG, content_type="image/jpeg")})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "clean_now" and task.result.photos.count() == 1
    body = office.get(reverse("coal:campaign", args=[campaign.pk])).content.decode()
    assert "已复查 1/1" in body and "已清零" in body


def test_a_street_officer_cannot_launch_a_look_back(world, coal, client_for):
    assert client_for(world.officer_a).get(reverse("coal:campaign_create")).status_code == 403


def test_notices_allocation_and_posting_through_the_pages(world, coal, setup, client_for):
    batch = setup["batch"]
    office = client_for(coal.office.officer)
    office.post(reverse("coal:allocation_set", args=[batch.pk]), {"street": world.street_a.pk, "count": 30})
    response = office.post(reverse("coal:allocation_set", args=[batch.pk]), {"street": world.street_b.pk,
                                                                             "count": 30}, follow=True)
    assert "最多还能分给该街道 20 份" in response.content.decode()
    assert NoticeAllocation.objects.get().count == 30
    street = client_for(world.officer_a)
    street.post(reverse("coal:posting_create", args=[batch.pk]), {
        "unit": world.courtyard_a.pk, "count": 5, "location": "院门口", "posted_on": ago(1).date().isoformat(),
        "photo": SimpleUploadedFile("wall.jpg", JPEG, content_type="image/jpeg")})
    posting = NoticePosting.objects.get()
    assert posting.count == 5 and posting.photo_sha256 and posting.photo.name.startswith("coal/notices/")
    photo_url = reverse("coal:posting_photo", args=[posting.pk])
    assert_status_matrix(client_for, [(world.officer_a, photo_url, 200), (coal.office.officer, photo_url, 200),
                                      (world.officer_b, photo_url, 404)])
    response = street.post(reverse("coal:posting_create", args=[batch.pk]), {
        "unit": world.courtyard_a.pk, "count": 1, "location": "单元门", "posted_on": ago(1).date().isoformat(),
        "photo": SimpleUploadedFile("wall.gif", b"GIF89a....", content_type="image/gif")}, follow=True)
    assert "只能上传 JPEG 或 PNG" in response.content.decode() and NoticePosting.objects.count() == 1
    body = office.get(reverse("coal:batch", args=[batch.pk])).content.decode()
    assert "乙一1号院" in body  # still uncovered
    body = street.get(reverse("coal:batch", args=[batch.pk])).content.decode()
    assert "全部楼院已张贴" in body and "乙街道" not in body


def test_the_dashboard_shows_overdue_rectifications_and_charts(world, coal, setup, client_for):
    from govdesk.coal.models import Rectification
    Rectification.objects.filter(place=coal.place_a).update(deadline=timezone.localdate() - timedelta(days=1))
    for person in (world.officer_a, coal.office.officer, world.supervisor, world.admin):
        response = client_for(person).get(reverse("coal:dashboard"))
        assert response.status_code == 200
        body = response.content.decode()
        assert 'data-chart="coal-weekly"' in body and 'data-chart="coal-lookback"' in body
    body = client_for(world.officer_a).get(reverse("coal:dashboard")).content.decode()
    assert "逾期整改" in body and "王记烧饼店" in body
    assert "李某某家" not in client_for(world.officer_a).get(reverse("coal:rectifications"),
                                                          {"state": "overdue"}).content.decode()


def test_the_overview_card_counts_within_reach(world, coal, setup, client_for):
    from govdesk.coal.queries import overview_card
    card = overview_card(world.officer_a)
    figures = dict(card["figures"])
    assert figures["本周检查"] == 1 and figures["整改中"] == 1 and figures["回头看进度"] == "0/1"
    assert overview_card(world.dept_officer) is None and overview_card(world.outsider) is None
    assert dict(overview_card(coal.office.officer)["figures"])["本周检查"] == 2
    assert "散煤治理" in client_for(world.officer_a).get(reverse("core:home")).content.decode()


def test_task_ids_are_not_guessable_across_streets_for_recording(world, coal, setup, client_for):
    response = client_for(world.officer_a).post(reverse("coal:task", args=[setup["task_b"].pk]), {
        "inspected_at": timezone.localtime(ago()).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 404
    assert CampaignTask.objects.get(pk=setup["task_b"].pk).status == "pending"


def test_people_without_coal_reach_get_a_plain_explanation(world, coal, client_for):
    for person in (world.dept_officer, world.outsider):
        response = client_for(person).get(reverse("coal:dashboard"))
        assert response.status_code == 200 and "没有可查看的散煤治理台账" in response.content.decode()


def test_the_office_sees_what_is_left_of_the_batch(world, coal, setup, client_for):
    services.allocation_set(actor=coal.office.officer, batch=setup["batch"], street=world.street_a, count=30)
    body = client_for(coal.office.officer).get(reverse("coal:batch", args=[setup["batch"].pk])).content.decode()
    assert "已分配 30 份" in body and "未分配 20 份" in body
    body = client_for(world.officer_a).get(reverse("coal:batch", args=[setup["batch"].pk])).content.decode()
    assert "未分配" not in body


def test_campaign_and_dashboard_pages_use_a_bounded_number_of_queries(world, coal, setup, client_for,
                                                                      django_assert_max_num_queries):
    for i in range(20):
        place = services.place_create(actor=world.officer_a, community=world.community_a, name=f"户{i}",
                                      kind="household", address=f"{i}")
        services.inspection_record(actor=world.officer_a, place=place, inspected_at=ago(), findings=rectify())
    campaign = services.campaign_launch(actor=coal.office.officer, district=world.district, title="大回头看",
                                        period_start=ago(0).date(), period_end=ago(-9).date(), mode="problems",
                                        cutoff=ago(2).date())
    client = client_for(coal.office.officer)
    with django_assert_max_num_queries(20):
        client.get(reverse("coal:campaign", args=[campaign.pk]))
    with django_assert_max_num_queries(30):
        client.get(reverse("coal:dashboard"))


def test_an_open_inspection_is_edited_closed_then_only_corrected_through_the_pages(world, coal, client_for):
    client = client_for(world.officer_a)
    at = timezone.localtime(ago()).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("coal:inspection_create", args=[coal.place_a.pk]), {"inspected_at": at, "educated": "on"})
    inspection = Inspection.objects.get()
    assert inspection.state == "open"
    assert client.get(reverse("coal:inspection_edit", args=[inspection.pk])).status_code == 200
    client.post(reverse("coal:inspection_edit", args=[inspection.pk]), {
        "inspected_at": at, "coal_present": "on", "coal_kind": "shaped", "quantity_kg": "12"})
    client.post(reverse("coal:inspection_close", args=[inspection.pk]))
    inspection.refresh_from_db()
    assert (inspection.state, inspection.coal_kind, inspection.quantity_kg) == ("closed", "shaped", 12)
    response = client.post(reverse("coal:inspection_edit", args=[inspection.pk]), {
        "inspected_at": at, "coal_present": "on", "coal_kind": "raw", "quantity_kg": "99"})
    assert "已办结" in response.content.decode()
    client.post(reverse("coal:inspection_correct", args=[inspection.pk]), {
        "coal_kind": "shaped", "quantity_kg": "10", "reason": "复核称重"})
    inspection.refresh_from_db()
    assert inspection.quantity_kg == 10
    body = client.get(reverse("coal:inspection", args=[inspection.pk])).content.decode()
    assert "已更正" in body and "复核称重" in body and "数量（公斤）：12.0 → 10.0" in body
