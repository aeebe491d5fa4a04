"""A competition on top of the shared ``world``: the health commission (卫健委) organises,
three hospitals send contestants, three judges (two from hospitals) and the district
supervisor watch over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from govdesk.core import services as core
from govdesk.core.reach import Role

from .. import services
from ..models import Competition, Event, Sheet


@dataclass
class Contest:
    world: object
    wjw: object
    hosp_a: object
    hosp_b: object
    hosp_c: object
    organiser: object
    judges: list
    users: list
    hosp_a_officer: object
    competition: Competition
    event: Event
    items: list = field(default_factory=list)
    contestants: list = field(default_factory=list)

    def advance_and_open(self, *, chief: int = 0, seed: int = 7):
        """Written scores 90, 85, 80, 70 → the top three advance; draw; open judging."""
        entries = list(self.event.entries.order_by("contestant__code"))
        scores = {e.pk: (str(s), "", "") for e, s in zip(entries, [90, 85, 80, 70], strict=False)}
        services.written_scores_record(actor=self.organiser, event=self.event, scores=scores)
        preview = services.scoring.advancement(services.advancement_rows(self.event), 3, self.event.tie_rule)
        services.advancement_confirm(actor=self.organiser, event=self.event, expected=preview.advancing)
        services.panel_set(actor=self.organiser, event=self.event, judges=self.judges, chief=self.judges[chief])
        services.draw_run(actor=self.organiser, event=self.event, seed=seed)
        services.judging_open(actor=self.organiser, event=self.event)
        self.event.refresh_from_db()

    def full_marks(self, override: dict | None = None):
        points = {i.pk: i.max_points for i in self.items}
        points.update(override or {})
        return points

    def sheet(self, judge_index: int, contestant_index: int) -> Sheet:
        return Sheet.objects.get(judge=self.judges[judge_index], entry__contestant=self.contestants[contestant_index],
                                 event=self.event)


def build_contest(world) -> Contest:
    root = world.root
    wjw = core.orgunit_create(actor=root, parent=world.district, kind="department", code="T100-WJW", name="卫健委")
    hosp = [core.orgunit_create(actor=root, parent=wjw, kind="institution", code=f"T100-H{i}", name=name)
            for i, name in enumerate(["第一医院", "第二医院", "妇幼保健院"], start=1)]
    organiser = world.person("weijian", Role.DEPARTMENT_OFFICER, wjw)
    users = [world.person(f"judge{i}", Role.JUDGE, wjw, name=f"评委{i}") for i in (1, 2, 3)]
    hosp_a_officer = world.person("hosp_a", Role.DEPARTMENT_OFFICER, hosp[0])
    competition = services.competition_create(actor=organiser, unit=wjw, name="妇幼健康技能竞赛",
                                              starts_on=date(2026, 5, 10), ends_on=date(2026, 5, 12),
                                              venue="区妇幼保健院")
    event = services.event_create(actor=organiser, competition=competition, name="儿童保健", time_limit_seconds=600,
                                  overtime_per_minute=Decimal("2"))
    items = [
        services.item_add(actor=organiser, event=event, title="操作前准备", max_points=10, step=Decimal("0.5")),
        services.item_add(actor=organiser, event=event, title="操作流程", max_points=60, step=1),
        services.item_add(actor=organiser, event=event, title="无菌原则", max_points=10, step=Decimal("0.5"),
                          critical=True, effect="cap", cap_points=60),
        services.item_add(actor=organiser, event=event, title="提问答辩", max_points=20, step=1, part="qa"),
    ]
    judges = [services.judge_add(actor=organiser, competition=competition, user=users[0], institution=hosp[0]),
              services.judge_add(actor=organiser, competition=competition, user=users[1], institution=hosp[1]),
              services.judge_add(actor=organiser, competition=competition, user=users[2])]
    contestants = [services.contestant_add(actor=organiser, competition=competition, name=name, institution=inst,
                                           events=[event])
                   for name, inst in [("张敏", hosp[0]), ("李娜", hosp[1]), ("王芳", hosp[2]), ("赵丽", hosp[2])]]
    return Contest(world=world, wjw=wjw, hosp_a=hosp[0], hosp_b=hosp[1], hosp_c=hosp[2], organiser=organiser,
                   judges=judges, users=users, hosp_a_officer=hosp_a_officer, competition=competition, event=event,
                   items=items, contestants=contestants)


@pytest.fixture
def contest(world) -> Contest:
    return build_contest(world)
