"""What a supervisor (纪检督查) sees of the forms they cannot submit: the form page answers 403
with the reason in Chinese (the service's own check, made before the form is shown), and the
list and detail pages do not offer the buttons and links to those forms — which the people who
may use them still get. The reach matrix (``test_reach_matrix.py``) checks the status codes of
every route for every role; this file checks the message and the missing buttons."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from .factories import Objects

# form page -> the kind of object its URL names (None: a create form without one). These answered
# a supervisor's GET with the form (or, the last few of each app, with "not found" for a record
# they can see); they answer 403 with the reason now.
FORM_PAGES = {
    "core": {"core:unit_rename": "core.unit", "core:unit_move": "core.unit", "core:user_create": None,
             "core:unit_create": "core.unit"},
    "invest": {"invest:firm_create": None, "invest:firm_edit": "invest.firm", "invest:assessment_create": "invest.firm",
               "invest:project_create": None, "invest:project_edit": "invest.project", "invest:appeal_create": None,
               "invest:parcel_create": None, "invest:building_create": None,
               "invest:building_edit": "invest.building"},
    "mall": {"mall:category_new": None, "mall:product_new": None},
    "coal": {"coal:place_create": None, "coal:place_edit": "coal.place", "coal:inspection_create": "coal.place",
             "coal:inspection_edit": "coal.inspection", "coal:inspection_correct": "coal.inspection",
             "coal:rectification_extend": "coal.rectification"},
    "veterans": {"veterans:record_new": None, "veterans:point_new": None, "veterans:team_new": None,
                 "veterans:office_new": None, "veterans:training_new": None, "veterans:record_edit": "veterans.record",
                 "veterans:change_request": "veterans.record"},
    "contest": {"contest:competition_create": None, "contest:competition_edit": "contest.competition",
                "contest:event_create": "contest.competition", "contest:contestant_create": "contest.competition",
                "contest:judge_create": "contest.competition", "contest:contestant_enter": "contest.contestant",
                "contest:event_edit": "contest.event", "contest:written": "contest.event",
                "contest:advance": "contest.event", "contest:panel": "contest.event",
                "contest:correction_create": "contest.sheet", "contest:appeal_create": "contest.result"},
}

# page (name, kind of its object, query) -> the form pages it must not link to for a supervisor;
# ``shown_to``: a role that does get the links there (so the check is not vacuous), or None.
LINKS = [
    (("core:unit", "core.unit", ""), [("core:unit_rename", "core.unit"), ("core:unit_move", "core.unit")], "admin"),
    (("invest:firm", "invest.firm", ""), [("invest:firm_edit", "invest.firm"),
                                          ("invest:assessment_create", "invest.firm")], "admin"),
    (("invest:project", "invest.project", ""), [("invest:project_edit", "invest.project")], "admin"),
    (("invest:firms", None, ""), [("invest:firm_create", None)], "admin"),
    (("invest:projects", None, ""), [("invest:project_create", None)], "admin"),
    (("invest:appeals", None, ""), [("invest:appeal_create", None)], "admin"),
    (("invest:carriers", None, ""), [("invest:parcel_create", None), ("invest:building_create", None)], "admin"),
    (("invest:carriers", None, "?kind=buildings"), [("invest:building_edit", "invest.building")], "officer_a"),
    (("mall:categories", None, ""), [("mall:category_new", None), ("mall:product_new", None)], "admin"),
    (("coal:places", None, ""), [("coal:place_create", None)], "admin"),
    (("veterans:records", None, ""), [("veterans:record_new", None)], "admin"),
    (("veterans:points", None, ""), [("veterans:point_new", None)], "admin"),
    (("veterans:organisation", None, ""), [("veterans:team_new", None), ("veterans:office_new", None),
                                           ("veterans:training_new", None)], "admin"),
    (("contest:competition", "contest.competition", ""), [
        ("contest:competition_edit", "contest.competition"), ("contest:event_create", "contest.competition"),
        ("contest:contestant_create", "contest.competition"), ("contest:judge_create", "contest.competition"),
        ("contest:contestant_enter", "contest.contestant")], "admin"),
    (("contest:event", "contest.event", ""), [("contest:event_edit", "contest.event"), ("contest:panel", "contest.event"),
                                              ("contest:written", "contest.event"),
                                              ("contest:advance", "contest.event")], None),
]

REFUSAL = re.compile(r'<div class="alert alert-warning[^"]*" role="alert">((?:您的角色无权|只有)[^<]+)<')


def _url(objects: Objects, name: str, kind: str | None) -> str:
    return reverse(name, kwargs={"pk": objects.get(kind)[0].pk} if kind else {})


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("app", sorted(FORM_PAGES))
def test_a_supervisor_is_refused_each_form_page_with_the_reason(app, world):
    objects, supervisor = Objects(world), _client(world.supervisor)
    for name, kind in FORM_PAGES[app].items():
        response = supervisor.get(_url(objects, name, kind))
        text = response.content.decode()
        assert response.status_code == 403, name
        assert REFUSAL.search(text), f"{name}: no refusal message on the page"
        assert "<textarea" not in text and 'type="submit">保存' not in text, f"{name} still shows its form"


def test_the_refusal_names_what_the_role_may_not_do(world):
    objects, supervisor = Objects(world), _client(world.supervisor)
    pages = {("invest:firm_create", None): "您的角色无权新增企业",
             ("invest:firm_edit", "invest.firm"): "您的角色无权进行此操作",
             ("mall:category_new", None): "只有区级管理员可以维护品目",
             ("veterans:record_new", None): "您的角色无权采集信息"}
    for (name, kind), message in pages.items():
        response = supervisor.get(_url(objects, name, kind))
        assert REFUSAL.search(response.content.decode()).group(1).startswith(message), name


@pytest.mark.parametrize("page", LINKS, ids=[f"{p[0][0]}{p[0][2]}" for p in LINKS])
def test_pages_offer_a_supervisor_no_link_to_those_forms(page, world):
    (name, kind, query), targets, shown_to = page
    objects = Objects(world)
    url = _url(objects, name, kind) + query
    hrefs = [f'href="{_url(objects, t, k)}' for t, k in targets]
    response = _client(world.supervisor).get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert not [h for h in hrefs if h in text]
    if shown_to:
        text = _client(getattr(world, shown_to)).get(url).content.decode()
        assert all(h in text for h in hrefs), f"{shown_to} should still be offered the forms on {url}"


def test_the_webhook_page_offers_a_supervisor_neither_the_form_nor_delete(world):
    Objects(world).get("core.webhook")
    supervisor = _client(world.supervisor).get(reverse("core:webhooks")).content.decode()
    officer = _client(world.officer_a).get(reverse("core:webhooks")).content.decode()
    assert "甲通知" in supervisor and "新增推送地址" not in supervisor and "删除" not in supervisor
    assert "新增推送地址" in officer and "删除" in officer


def test_a_supervisors_post_to_a_form_page_is_refused_and_writes_nothing(world):
    from govdesk.core.models import AuditEvent
    from govdesk.invest.models import Firm

    objects = Objects(world)
    firm = objects.get("invest.firm")[0]
    before = AuditEvent.objects.count()
    response = _client(world.supervisor).post(reverse("invest:firm_edit", args=[firm.pk]), {"name": "改名企业"})
    assert response.status_code == 403
    assert AuditEvent.objects.count() == before
    assert Firm.objects.get(pk=firm.pk).name == firm.name


def test_the_tables_page_offers_a_supervisor_no_import(world):
    url = reverse("core:table_import", args=["coal-places"])
    supervisor, officer = _client(world.supervisor), _client(world.officer_a)
    assert f'href="{url}"' not in supervisor.get(reverse("core:tables")).content.decode()
    assert f'href="{url}"' in officer.get(reverse("core:tables")).content.decode()
    response = supervisor.get(url)
    assert response.status_code == 403 and "您的角色无权导入数据" in response.content.decode()
