"""The reference competition: the health commission's maternal and child health skills
competition with the four reported events, contestants from twelve institutions,
written scores, the top three of each event advanced, and the judges' sheets partly
submitted (the first event scored in full and closed). Everything goes through the
services, so the demo has the same audit trail as real use."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from govdesk.core import services as core
from govdesk.core.demo import DEMO_PASSWORD, demo_facts
from govdesk.core.models import OrgUnit
from govdesk.core.reach import Role

from . import scoring, services
from .models import Sheet

INSTITUTIONS = ["区人民医院", "区妇幼保健院", "区中医院", "区第二人民医院", "林山寨社区卫生服务中心",
                "建设路社区卫生服务中心", "棉纺路社区卫生服务中心", "秦岭路社区卫生服务中心",
                "桐柏路社区卫生服务中心", "三官庙社区卫生服务中心", "绿东村社区卫生服务中心", "汝河路社区卫生服务中心"]
JUDGES = [("pingwei2", "周文静", 0), ("pingwei3", "吴海燕", 1), ("pingwei4", "郑晓红", 2), ("pingwei5", "孙立群", None)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["静", "敏", "丽", "娜", "芳", "艳", "霞", "婷", "雪", "慧", "颖", "洁", "琳", "倩", "蕾", "燕"]
# (method, time limit in seconds, rubric: (title, max, step, part, critical effect, cap))
RUBRICS = [
    ("trimmed", 900, [("评估与准备", 10, "0.5", "operation", "", None), ("产科急症处置流程", 50, "1", "operation", "", None),
                      ("无菌观念与操作规范", 10, "1", "operation", "cap", 60), ("人文关怀与沟通", 10, "0.5", "operation", "", None),
                      ("提问答辩", 20, "1", "qa", "", None)]),
    ("trimmed", 1200, [("呼吸机参数设置", 25, "1", "operation", "", None), ("脐静脉置管操作", 40, "1", "operation", "", None),
                       ("导管位置确认", 10, "1", "operation", "zero", None), ("操作后处理", 5, "0.5", "operation", "", None),
                       ("提问答辩", 20, "1", "qa", "", None)]),
    ("mean", 600, [("体格测量", 20, "0.5", "operation", "", None), ("生长发育评价", 30, "1", "operation", "", None),
                   ("喂养指导", 30, "1", "operation", "", None), ("提问答辩", 20, "1", "qa", "", None)]),
    ("median", 900, [("术前评估与知情同意", 20, "1", "operation", "", None), ("宫内节育器放置", 50, "1", "operation", "", None),
                     ("无菌操作", 10, "1", "operation", "cap", 60), ("提问答辩", 20, "1", "qa", "", None)]),
]


def _marks(rng, items) -> tuple[dict, set]:
    points = {}
    for item in items:
        steps_off = rng.choice([0, 0, 1, 1, 2, 3, 4])
        points[item.pk] = max(Decimal("0"), item.max_points - item.step * steps_off)
    failed = {i.pk for i in items if i.critical and rng.random() < 0.05}
    return points, failed


@transaction.atomic
def seed(context: dict) -> None:
    rng = context["rng"]
    root, users = context["root"], context["users"]
    wjw = context["departments"]["卫健委"]
    organiser = users["weijian"]
    institutions = [core.orgunit_create(actor=root, parent=wjw, kind=OrgUnit.Kind.INSTITUTION,
                                        code=f"{wjw.code}-h{i:02d}", name=name)
                    for i, name in enumerate(INSTITUTIONS, start=1)]
    judge_users = [users["pingwei"]] + [
        core.user_create(actor=root, username=username, display_name=name, password=DEMO_PASSWORD,
                         role=Role.JUDGE, unit=wjw) for username, name, _inst in JUDGES]
    competition = services.competition_create(
        actor=organiser, unit=wjw, name="中原区妇幼健康技能竞赛", starts_on=date(2026, 5, 12),
        ends_on=date(2026, 5, 14), venue="中原区妇幼保健院培训中心", co_organisers="区总工会、区妇联",
        board_mode="scores")
    judges = [services.judge_add(actor=organiser, competition=competition, user=judge_users[0])] + [
        services.judge_add(actor=organiser, competition=competition, user=user,
                           institution=institutions[inst] if inst is not None else None)
        for user, (_u, _n, inst) in zip(judge_users[1:], JUDGES, strict=True)]
    names = set()
    for order, (event_name, (method, limit, rubric)) in enumerate(
            zip(demo_facts()["figures_reported"]["contest"]["events"], RUBRICS, strict=True), start=1):
        event = services.event_create(actor=organiser, competition=competition, name=event_name, order=order,
                                      time_limit_seconds=limit, method=method,
                                      tie_rule="break" if order % 2 else "all")
        items = [services.item_add(actor=organiser, event=event, title=title, max_points=mx, step=Decimal(step),
                                   part=part, critical=bool(effect), effect=effect, cap_points=cap)
                 for title, mx, step, part, effect, cap in rubric]
        # eight entrants an event, rotating through the twelve institutions
        entrants = [institutions[(order * 8 + j) % len(institutions)] for j in range(8)]
        for institution in entrants:
            name = None
            while name is None or name in names:
                name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2])))
            names.add(name)
            services.contestant_add(actor=organiser, competition=competition, name=name, institution=institution,
                                    events=[event])
        entries = list(event.entries.order_by("pk"))
        services.written_scores_record(actor=organiser, event=event, scores={
            e.pk: (str(rng.randint(120, 196) / 2), str(rng.randint(20, 40)), str(rng.randint(60, 90)))
            for e in entries})
        preview = scoring.advancement(services.advancement_rows(event), event.advance_count, event.tie_rule)
        services.advancement_confirm(actor=organiser, event=event, expected=preview.advancing)
        services.panel_set(actor=organiser, event=event, judges=judges, chief=judges[4])
        services.draw_run(actor=organiser, event=event, seed=20260512 + order)
        services.judging_open(actor=organiser, event=event)
        sheets = list(Sheet.objects.filter(event=event).select_related("judge__user").order_by("entry__draw_order",
                                                                                                 "judge_id"))
        share = {1: 1.0, 2: 0.6, 3: 0.4, 4: 0.2}[order]
        for sheet in sheets[: round(len(sheets) * share)]:
            if order > 1 and sheet.judge.user_id == judge_users[0].pk:
                continue  # the demo judge login keeps work to do
            points, failed = _marks(rng, items)
            services.sheet_submit(actor=sheet.judge.user, sheet=sheet, points=points, failed=failed,
                                  seconds_used=limit - rng.randint(-90, 240))
        if order == 1:
            services.round_close(actor=organiser, event=event)
            # the chief judge has signed; the supervisor (jiandu) signs in the demo
            services.results_sign(actor=judges[4].user, event=event)
