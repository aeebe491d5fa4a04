import pytest
from django.test import Client
from django.urls import reverse

from govdesk.core.models import AuditEvent, OrgUnit
from govdesk.core.testing import assert_status_matrix

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client):
    response = client.get(reverse("core:units"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("core:login"))


def test_login_shows_a_clear_message_and_is_audited(world):
    client = Client()
    response = client.post(reverse("core:login"), {"username": "officer_a", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", object_repr="officer_a").count() == 1
    response = client.post(reverse("core:login"), {"username": "officer_a", "password": "Test@pass-2026"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="login", actor_name="officer_a").count() == 1


def test_login_is_throttled_after_repeated_failures(world, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        client.post(reverse("core:login"), {"username": "officer_a", "password": "wrong"})
    response = client.post(reverse("core:login"), {"username": "officer_a", "password": "Test@pass-2026"})
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unit_detail_reach_matrix(world, client_for):
    url_a = reverse("core:unit", args=[world.community_a.pk])
    url_b = reverse("core:unit", args=[world.community_b.pk])
    assert_status_matrix(client_for, [
        (world.admin, url_a, 200), (world.supervisor, url_a, 200),
        (world.officer_a, url_a, 200), (world.officer_a, url_b, 404),
        (world.officer_b, url_a, 404), (world.dept_officer, url_a, 404), (world.outsider, url_a, 404),
    ])


def test_units_page_lists_only_the_street_of_its_officer(world, client_for):
    response = client_for(world.officer_a).get(reverse("core:units"), {"q": "社区"})
    body = response.content.decode()
    assert "甲一社区" in body and "乙一社区" not in body


def test_htmx_search_returns_only_the_results_fragment(world, client_for):
    response = client_for(world.admin).get(reverse("core:units"), {"q": "jjd"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "甲街道" in body and "<html" not in body


def test_admin_creates_a_unit_through_the_form(world, client_for):
    client = client_for(world.admin)
    response = client.post(reverse("core:unit_create", args=[world.street_a.pk]),
                           {"kind": "community", "code": "A-F1", "name": "表单社区"})
    assert response.status_code == 302
    assert OrgUnit.objects.filter(code="A-F1", parent=world.street_a).exists()


def test_bad_form_input_shows_a_chinese_message_and_writes_nothing(world, client_for):
    client = client_for(world.admin)
    count = OrgUnit.objects.count()
    response = client.post(reverse("core:unit_create", args=[world.street_a.pk]),
                           {"kind": "community", "code": "T100-A1", "name": "重复编码"})
    assert response.status_code == 200
    assert "编码已被使用" in response.content.decode()
    assert OrgUnit.objects.count() == count


def test_writes_outside_reach_are_404_and_change_nothing(world, client_for):
    url = reverse("core:unit_rename", args=[world.street_b.pk])
    response = client_for(world.officer_a).post(url, {"name": "被改"})
    assert response.status_code == 404
    response = client_for(world.supervisor).post(url, {"name": "被改"})
    assert response.status_code == 403 and "无权" in response.content.decode()
    assert OrgUnit.objects.get(pk=world.street_b.pk).name == "乙街道"


def test_retire_is_a_post_behind_a_confirmation(world, client_for):
    client = client_for(world.admin)
    page = client.get(reverse("core:unit", args=[world.courtyard_a.pk])).content.decode()
    assert 'data-confirm="确定撤销' in page
    assert client.get(reverse("core:unit_retire", args=[world.courtyard_a.pk])).status_code == 405
    client.post(reverse("core:unit_retire", args=[world.courtyard_a.pk]))
    assert OrgUnit.objects.get(pk=world.courtyard_a.pk).is_retired


def test_user_pages_for_admins_only(world, client_for):
    assert_status_matrix(client_for, [
        (world.admin, reverse("core:users"), 200), (world.supervisor, reverse("core:users"), 200),
        (world.officer_a, reverse("core:users"), 403),
        (world.admin, reverse("core:user", args=[world.officer_a.pk]), 200),
        (world.officer_b, reverse("core:user", args=[world.officer_a.pk]), 404),
    ])


def test_audit_page_filters_by_object(world, client_for):
    response = client_for(world.supervisor).get(reverse("core:audit"), {
        "object_type": "core.orgunit", "object_id": world.street_a.pk})
    rows = response.context["page"].rows
    assert rows and {e.object_id for e in rows} == {str(world.street_a.pk)}
    assert client_for(world.officer_a).get(reverse("core:audit")).status_code == 403


def test_the_overview_renders_charts_for_every_role(world, client_for):
    for person in (world.admin, world.officer_a, world.supervisor, world.outsider):
        response = client_for(person).get(reverse("core:home"))
        assert response.status_code == 200
        assert 'data-chart="chart-units"' in response.content.decode()


def test_keyset_pages_walk_forward_and_back(world, client_for):
    from govdesk.core import services
    for i in range(7):
        services.orgunit_create(actor=world.admin, parent=world.street_a, kind="community", code=f"P{i}",
                                name=f"分页{i}社区")
    from govdesk.core import listing
    listing_size = 3
    qs = OrgUnit.objects.filter(code__startswith="P")
    first = listing.keyset_page(qs, {}, sorts={"code": "code"}, default="code", size=listing_size)
    assert [u.code for u in first.rows] == ["P0", "P1", "P2"] and first.has_next and not first.has_prev
    from urllib.parse import parse_qsl
    second = listing.keyset_page(qs, dict(parse_qsl(first.next_url[1:])), sorts={"code": "code"}, default="code",
                                 size=listing_size)
    assert [u.code for u in second.rows] == ["P3", "P4", "P5"] and second.has_prev
    back = listing.keyset_page(qs, dict(parse_qsl(second.prev_url[1:])), sorts={"code": "code"}, default="code",
                               size=listing_size)
    assert [u.code for u in back.rows] == ["P0", "P1", "P2"]
    last = listing.keyset_page(qs, {"last": "1"}, sorts={"code": "code"}, default="code", size=listing_size)
    assert [u.code for u in last.rows] == ["P4", "P5", "P6"] and not last.has_next
    desc = listing.keyset_page(qs, {"sort": "-code"}, sorts={"code": "code"}, default="code", size=listing_size)
    assert [u.code for u in desc.rows] == ["P6", "P5", "P4"]


def test_list_pages_use_a_bounded_number_of_queries(world, client_for, django_assert_max_num_queries):
    client = client_for(world.admin)
    with django_assert_max_num_queries(12):
        client.get(reverse("core:units"), {"q": "社区"})
    with django_assert_max_num_queries(12):
        client.get(reverse("core:users"))


def test_the_activity_chart_shows_fourteen_days_with_todays_events(world):
    from govdesk.core import queries
    activity = queries.overview_core(world.supervisor)["activity"]
    assert len(activity) == 14
    assert activity[-1][1] == AuditEvent.objects.count() and all(n == 0 for _d, n in activity[:-1])
    assert queries.overview_core(world.officer_a)["activity"][-1][1] == 0  # officers do not read the audit trail


def test_the_audit_trail_filters_by_unit_subtree(world, client_for):
    from govdesk.core import services
    services.orgunit_rename(actor=world.admin, unit=world.courtyard_b, name="乙一改名院")
    response = client_for(world.supervisor).get(reverse("core:audit"), {"unit": world.street_b.pk})
    page = response.context["page"]
    assert page.rows and all(e.unit_path.startswith(world.street_b.path) for e in page.rows)
    assert "乙一改名院" in response.content.decode()


def test_nav_items_can_be_narrowed_per_person(world, client_for):
    from govdesk.core.registry import NAV, NavItem
    item = NavItem("只给甲街道", "core:reports", visible=lambda user: user.username == "officer_a")
    NAV.append(item)
    try:
        assert "只给甲街道" in client_for(world.officer_a).get(reverse("core:home")).content.decode()
        assert "只给甲街道" not in client_for(world.officer_b).get(reverse("core:home")).content.decode()
    finally:
        NAV.remove(item)


def test_the_users_page_shows_only_memberships_inside_the_viewers_reach(world, client_for):
    from govdesk.core import services
    from govdesk.core.reach import Role
    street_supervisor = world.person("sup_a", Role.SUPERVISOR, world.street_a)
    services.membership_add(actor=world.admin, user=world.officer_a, role=Role.COLLECTOR, unit=world.street_b)
    response = client_for(street_supervisor).get(reverse("core:users"))
    row = next(u for u in response.context["page"].rows if u.username == "officer_a")
    assert {m.org_unit.name for m in row.member_list} == {"甲街道"}
