"""Demo data: a few hundred places across the streets, a few months of ledger, an open
look-back half done and a 2,500-notice batch partly posted — all through the services."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from govdesk.core.models import OrgUnit

from . import services
from .models import Campaign, CampaignTask, Place

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
SHOPS = ["烧饼店", "胡辣汤馆", "烩面馆", "早餐店", "小卖部", "五金店", "炒货摊", "烤红薯摊", "蜂窝煤店", "煤球站"]
SOURCES = ["外地流动商贩", "自行购买", "亲戚赠送", "库存旧煤", "不明来源"]
STORAGE = ["院内", "门前", "厨房", "楼道", "地下室"]


def _place_plan(rng, street_index: int, community, k: int):
    roll = rng.random()
    if roll < 0.08:
        kind, name = Place.Kind.SALES_POINT, f"{community.name[:2]}煤球站{k}号"
    elif roll < 0.45:
        kind = rng.choice([Place.Kind.RESTAURANT, Place.Kind.SHOP, Place.Kind.STALL])
        name = f"{rng.choice(SURNAMES)}记{rng.choice(SHOPS)}"
    else:
        kind, name = Place.Kind.HOUSEHOLD, f"{rng.choice(SURNAMES)}某某家"
    return kind, name, f"{community.name}{rng.randint(1, 40)}号楼{rng.randint(1, 6)}单元{k}"


def _findings(rng, coal: bool, day) -> dict:
    if not coal:
        return {"coal_present": False, "educated": rng.random() < 0.6}
    quantity = rng.choice([15, 25, 40, 60, 100, 150, 300])
    seized = rng.random() < 0.4
    rect = rng.random() < 0.6
    return {"coal_present": True, "coal_kind": rng.choice(["raw", "briquette", "shaped"]), "quantity_kg": quantity,
            "source": rng.choice(SOURCES), "storage": rng.choice(STORAGE), "used_by": f"{rng.choice(SURNAMES)}某",
            "educated": True, "seized": seized, "seized_kg": quantity if seized else 0,
            "rectification_ordered": rect, "rectification_deadline": day + timedelta(days=rng.choice([7, 10, 15]))
            if rect else None, "referred": rng.random() < 0.05}


def streets_of(context: dict, index: int) -> OrgUnit:
    return context["streets"][index]


@transaction.atomic
def seed(context: dict) -> None:
    rng = context["rng"]
    admin = context["users"]["admin"]
    district = context["district"]
    services.office_designate(actor=admin, department=context["departments"]["散煤办"])
    today = timezone.localdate()

    plan = []
    for i, street in enumerate(context["streets"]):
        for community in OrgUnit.objects.filter(parent=street, kind=OrgUnit.Kind.COMMUNITY).order_by("path"):
            for k in range(1, rng.randint(5, 8)):
                kind, name, address = _place_plan(rng, i, community, k)
                plan.append({"community": community, "name": name, "kind": kind, "address": address,
                             "contact_name": f"{rng.choice(SURNAMES)}先生",
                             "contact_phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"})
    places = services.place_import(actor=admin, rows=plan)

    # about four months of ledger, imported as history: ~30% found coal at the first visit,
    # most were fixed on a later visit
    rows = []
    for place in places:
        day = today - timedelta(days=rng.randint(60, 120))
        coal = rng.random() < 0.3
        visits = rng.randint(1, 3)
        for _ in range(visits):
            at = timezone.make_aware(datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 15, 30, 45]))))
            rows.append({"place": place, "inspected_at": at, "inspector_name": f"{rng.choice(SURNAMES)}某某",
                         **_findings(rng, coal, day)})
            day += timedelta(days=rng.randint(12, 30))
            if day >= today - timedelta(days=10):
                break
            coal = coal and rng.random() < 0.35
    services.ledger_import(actor=admin, rows=rows)

    # an open look-back over the last two months' problems, half of it done
    campaign = services.campaign_launch(
        actor=admin, district=district, title=f"{today.year}年散煤治理回头看", period_start=today - timedelta(days=5),
        period_end=today + timedelta(days=20), mode=Campaign.Mode.PROBLEMS, cutoff=today - timedelta(days=75))
    tasks = list(CampaignTask.objects.filter(campaign=campaign).select_related("place").order_by("pk"))
    rng.shuffle(tasks)
    for task in tasks[: len(tasks) // 2]:
        at = timezone.now() - timedelta(hours=rng.randint(1, 72))
        still = rng.random() < 0.2
        findings = _findings(rng, still, timezone.localdate(at))
        if still:
            findings.update(rectification_ordered=False, rectification_deadline=None)
        services.task_record(actor=admin, task=task, inspected_at=at, findings=findings)
    # a few recent inspections outside the look-back, one of them still open
    for place in rng.sample(places, 12):
        at = timezone.now() - timedelta(hours=rng.randint(1, 100))
        services.inspection_record(actor=admin, place=place, inspected_at=at,
                                   findings=_findings(rng, False, timezone.localdate(at)), close=place.pk % 5 != 0)

    # last week's summaries: the two streets with a demo login have reported, the others not yet
    from govdesk.core.periods import period_start_of
    last_week = period_start_of("week", today - timedelta(days=7))
    for username, street in (("linshanzhai", streets_of(context, 0)), ("jianshelu", streets_of(context, 1))):
        services.weekly_report_submit(actor=context["users"][username], street=street, week_start=last_week)

    # the city's 2,500 notices: allocated to every street, partly posted
    batch = services.batch_receive(actor=admin, district=district, title="关于禁止生产、销售、运输、燃用散煤的通告",
                                   count=2500, source="市散煤治理办公室", received_on=today - timedelta(days=20))
    streets = context["streets"]
    share = 2500 // len(streets)
    for street in streets:
        allocation = services.allocation_set(actor=admin, batch=batch, street=street, count=share)
        yards = list(OrgUnit.objects.filter(path__startswith=street.path, kind=OrgUnit.Kind.COURTYARD).order_by("path"))
        for yard in yards[: rng.randint(len(yards) // 3, len(yards))]:
            services.posting_record(actor=admin, allocation=allocation, unit=yard, count=rng.randint(3, 8),
                                    location=rng.choice(["楼道口公告栏", "单元门", "院门口"]),
                                    posted_on=today - timedelta(days=rng.randint(1, 18)))
