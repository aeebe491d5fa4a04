"""Synthetic investment-promotion data for `govdesk demo`: a few hundred firms, assessments,
squads with their visits and receptions, a pipeline of projects, three months of carrier
reports from the streets, open appeals and last week's meeting with its tasks. Everything
goes through the services; only the clocks are set back afterwards so the pipeline has age."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc

from . import services
from .models import Dimension, HqGroup, Industry, Project, Region, Tier

CITIES = {Region.YRD: ["上海", "杭州", "苏州", "南京", "宁波", "无锡"], Region.PRD: ["深圳", "广州", "东莞", "佛山", "珠海"],
          Region.BOHAI: ["北京", "天津", "青岛", "大连", "济南"], Region.OTHER: ["郑州", "武汉", "成都", "西安", "长沙"]}
WORDS = ["华信", "中科", "远景", "恒瑞", "宏达", "博源", "新元", "启明", "天行", "嘉禾", "鼎盛", "汇通", "瑞丰", "海纳",
         "云帆", "锦程", "正泰", "安泰", "卓越", "凯旋", "德润", "世纪", "星河", "金桥"]
TRADES = {"urban-furnishing": "家居", "urban-textile": "纺织", "urban-garment": "服饰", "tech-green": "环保科技",
          "tech-rnd": "设计研究院", "culture-tourism": "文旅", "commerce": "商贸", "hq": "控股", "em-ict": "信息技术",
          "em-bio": "生物医药", "em-materials": "新材料", "em-energy": "新能源", "em-equipment": "智能装备",
          "em-new-forms": "数字科技"}
SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司"]
PEOPLE = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]
PDF = b"%PDF-1.4\n% demo document\n"


def _credit_code(rng) -> str:
    base = f"91{rng.choice(['3100', '4403', '1100', '4101'])}00{rng.randint(0, 10**9 - 1):09d}"[:17]
    return base + uscc.calc_check_digit(base)


@transaction.atomic
def seed(context: dict) -> None:
    rng = context["rng"]
    root, users = context["root"], context["users"]
    bureau = context["departments"]["商务局"]
    officer = users["shangwu"]
    today = timezone.localdate()
    now = timezone.now()
    services.office_configure(
        actor=root, lead_unit=bureau, stall_amber_days=30, stall_red_days=60,
        advantages=f"{context['district'].name}地处城市西部核心区，地铁与高速路网通达，高校和科研院所集中，"
                   "商贸流通基础雄厚；对总部经济、科技服务业和文化创意旅游项目给予专项扶持。")
    supervision = HqGroup.objects.get(supervises=True)
    services.hq_group_set_leader(actor=root, group=supervision, user=users["admin"])

    squads = {
        Region.YRD: services.squad_create(actor=officer, unit=bureau, name="长三角小分队", region=Region.YRD),
        Region.PRD: services.squad_create(actor=officer, unit=bureau, name="珠三角小分队", region=Region.PRD),
        Region.BOHAI: services.squad_create(actor=officer, unit=bureau, name="环渤海小分队", region=Region.BOHAI),
    }
    services.squad_member_add(actor=officer, squad=squads[Region.YRD], user=officer, is_leader=True)
    services.squad_member_add(actor=officer, squad=squads[Region.PRD], user=officer, is_leader=True)
    services.squad_member_add(actor=officer, squad=squads[Region.BOHAI], user=officer, is_leader=True)
    services.squad_member_add(actor=officer, squad=squads[Region.YRD], user=users["caizheng"])

    for region, squad in squads.items():
        for months_ago in (3, 2, 1):
            services.squad_meeting_record(
                actor=officer, squad=squad, held_on=(today.replace(day=1) - timedelta(days=30 * months_ago - 3)),
                minutes=f"{squad.name}月度例会：通报上月拜访与接待情况，梳理{Region(region).label}重点目标企业。",
                decisions="下月开展集中外出拜访，跟进已研判的重点企业。")
    industries = list(Industry.objects.all())
    tiers = {t.code: t for t in Tier.objects.all()}
    firms, seen = [], set()
    for _batch in range(3):
        rows = []
        while len(rows) < 100:
            region = rng.choices(list(CITIES), weights=[4, 3, 3, 2])[0]
            city = rng.choice(CITIES[region])
            industry = rng.choice(industries)
            name = f"{city}{rng.choice(WORDS)}{TRADES[industry.code]}{rng.choice(SUFFIXES)}"
            if services.name_key(name) in seen:
                continue
            seen.add(services.name_key(name))
            roll = rng.random()
            if roll < 0.06:
                firm_tiers = [(tiers["fortune-global-500"], 2025), (tiers["china-500"], 2025)]
            elif roll < 0.2:
                firm_tiers = [(tiers[rng.choice(["china-500", "china-private-500"])], rng.choice([2024, 2025]))]
            elif roll < 0.45:
                firm_tiers = [(tiers[rng.choice(["industry-top-20", "industry-leader"])], 2025)]
            else:
                firm_tiers = [(tiers["sme"], 2025)]
            contacts = []
            if rng.random() < 0.4:
                contacts = [(f"{rng.choice(PEOPLE)}经理", "投资发展部", f"13{rng.randint(0, 999999999):09d}")]
            rows.append({"name": name, "industry": industry, "region": region, "city": city,
                         "credit_code": _credit_code(rng) if rng.random() < 0.7 else "", "tiers": firm_tiers,
                         "contacts": contacts, "squad": squads.get(region),
                         # 以商引商: some firms were brought in by a firm of an earlier batch
                         "referred_by": rng.choice(firms) if firms and rng.random() < 0.08 else None})
        firms += services.firm_create_many(actor=officer, unit=bureau, rows=rows)

    dims = list(Dimension.objects.filter(active=True))
    top = sorted(firms, key=lambda f: f.pk)[:26]
    for i, firm in enumerate(top):
        squad = squads.get(firm.region) or squads[Region.YRD]
        scores = {d.pk: (rng.randint(55, 95), f"{d.name}：经研判会讨论，依据企业年报与走访记录") for d in dims}
        services.assessment_record(actor=officer, firm=firm, met_on=today - timedelta(days=7 * (i % 10) + 1),
                                   conclusion=rng.choices(["pursue", "watch", "drop"], weights=[5, 3, 1])[0],
                                   priority=rng.randint(1, 4), squad=squad, scores=scores, note="纳入重点跟踪名单")

    kinds = ["visit", "reception", "brochure", "invitation", "follow_up"]
    for _ in range(90):
        firm = rng.choice(top + firms[:60])
        kind = rng.choices(kinds, weights=[4, 3, 1, 1, 2])[0]
        services.activity_record(actor=officer, firm=firm, kind=kind, happened_on=today - timedelta(days=rng.randint(0, 150)),
                                 participants="商务局 " + "、".join(rng.sample(PEOPLE, 2)) + " 等",
                                 place=firm.city if kind == "visit" else "中原区", summary="介绍区位优势与载体资源，了解投资意向")

    groups = list(HqGroup.objects.exclude(supervises=True))
    stage_plan = (["lead"] * 10 + ["negotiating"] * 10 + ["signed"] * 6 + ["registered"] * 5 + ["construction"] * 4
                  + ["production"] * 3 + ["lost"] * 2)
    projects = []
    for i, target in enumerate(stage_plan):
        firm = top[i % len(top)]
        need = rng.choice(["parcel", "building", "none"])
        project = services.project_create(
            actor=officer, unit=bureau, firms=[firm], name=f"{_short(firm.name)}{rng.choice(['区域总部', '产业园', '研发中心', '运营中心', '智能工厂'])}项目", industry=firm.industry,
            planned_investment=Decimal(rng.randrange(500, 60000, 100)), hq_group=rng.choice(groups),
            leader=rng.choice(["王副区长", "李副区长", "张常务"]), need=need,
            need_area=Decimal(rng.randint(10, 80)) if need == "parcel" else (
                Decimal(rng.randint(500, 6000)) if need == "building" else None),
            need_use=rng.choice(["industrial", "office", "commercial"]) if need != "none" else "")
        _advance(project, target, officer, rng)
        projects.append(project)
        # Give the pipeline its age: some projects have not moved for weeks.
        idle = rng.choice([2, 5, 12, 20, 35, 45, 70, 90])
        Project.objects.filter(pk=project.pk).update(moved_at=now - timedelta(days=idle),
                                                     stage_since=now - timedelta(days=idle))

    _carriers(context, today)

    owner_groups = list(HqGroup.objects.exclude(supervises=True))
    appeals = []
    for i in range(16):
        firm = top[i % len(top)]
        received = today - timedelta(days=rng.randint(1, 30))
        appeal = services.appeal_create(
            actor=officer, firm=firm, category=rng.choice(["land", "financing", "approval", "progress", "other"]),
            title=rng.choice(["协调用地指标", "申请贷款贴息", "加快施工许可审批", "协调水电接入", "人才公寓申请"]),
            detail="企业反映有关事项，请协调解决", urgency=rng.choices(["normal", "urgent", "critical"], weights=[5, 3, 1])[0],
            owner_group=rng.choice(owner_groups), handler=officer, received_on=received)
        appeals.append(appeal)
        if i % 4 == 0:
            services.appeal_reply(actor=officer, appeal=appeal, text="已对接相关部门，正在办理")
            services.appeal_resolve(actor=officer, appeal=appeal, resolution="已协调解决", resolved_on=today)
            services.appeal_rate(actor=officer, appeal=appeal, rating=rng.randint(3, 5))
    services.appeals_escalate(today=today)

    last_week = today - timedelta(days=7)
    meeting = services.meeting_create(actor=officer, unit=bureau, held_on=last_week, chair="王副区长")
    stalled = [p for p in projects if p.stage not in Project.CLOCKLESS][:3]
    for project in stalled:
        services.task_assign(actor=officer, meeting=meeting, text=f"协调推进「{project.name}」", owner=officer,
                             due_on_date=today + timedelta(days=3), project=project)
    open_appeal = next(a for a in appeals if a.status != "resolved")
    services.task_assign(actor=officer, meeting=meeting, text=f"督办诉求「{open_appeal.title}」",
                         owner=users["linshanzhai"], due_on_date=today, appeal=open_appeal)
    services.meeting_minutes(actor=officer, meeting=meeting, minutes="一、通报重点项目推进情况。\n二、研究停滞项目和企业诉求，明确责任人和时限。")


def _short(name: str) -> str:
    for suffix in ("股份有限公司", "集团有限公司", "有限公司"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _advance(project, target, actor, rng):
    if target == "lost":
        services.project_move(actor=actor, project=project, to_stage="negotiating")
        services.project_move(actor=actor, project=project, to_stage="lost", lost_reason="企业战略调整，落户外地")
        return
    while project.stage != target:
        nxt = services.next_stage(project.stage)
        if nxt == "signed":
            services.document_upload(actor=actor, project=project, kind="agreement",
                                     upload=SimpleUploadedFile("投资协议.pdf", PDF + str(project.pk).encode()))
        if nxt == "registered":
            services.document_upload(actor=actor, project=project, kind="licence",
                                     upload=SimpleUploadedFile("营业执照.pdf", PDF + b"L" + str(project.pk).encode()))
        project = services.project_move(actor=actor, project=project, to_stage=nxt)
        if project.stage in ("signed", "registered", "construction"):
            services.project_progress(actor=actor, project=project, note="资金分期到位",
                                      paid_in=(project.planned_investment * Decimal(rng.choice(["0.1", "0.3", "0.6"])))
                                      .quantize(Decimal("0.01")))


def _carriers(context, today):
    """Each street reports a few parcels and buildings; three months of reports with changes between them."""
    rng, root = context["rng"], context["root"]
    months = [(today.replace(day=1) - timedelta(days=62)).replace(day=1),
              (today.replace(day=1) - timedelta(days=1)).replace(day=1), today.replace(day=1)]
    carriers = []
    for street in context["streets"]:
        for k in range(rng.randint(1, 3)):
            carriers.append(services.parcel_save(
                actor=root, unit=street, name=f"{street.name[:-2]}{k + 1}号地块", location=f"{street.name[:-2]}片区",
                area_mu=Decimal(rng.randint(8, 120)), planned_use=rng.choice(["industrial", "commercial", "mixed",
                                                                              "office"]),
                zoning=f"容积率 {rng.choice(['1.5', '2.0', '2.5', '3.0'])}", status="idle",
                direction=rng.choice(["智能制造", "总部经济", "商贸物流", "文化创意"])))
        for k in range(rng.randint(1, 2)):
            total = Decimal(rng.randint(8, 60) * 1000)
            carriers.append(services.building_save(
                actor=root, unit=street, name=f"{street.name[:-2]}{['商务中心', '国际大厦', '科技园'][k]}",
                address=f"{street.name[:-2]}路 {rng.randint(1, 200)} 号", total_area=total,
                vacant_area=(total * Decimal(rng.choice(["0.05", "0.15", "0.3"]))).quantize(Decimal("1")),
                rent=Decimal(rng.randint(30, 90)), owner="区属国有平台公司", main_tenants="金融、科技服务企业"))
    # a few parcels carry a planning drawing, printed on their pitch sheets
    parcels = [c for c in carriers if hasattr(c, "area_mu")]
    for parcel in parcels[:4]:
        services.drawing_upload(actor=root, parcel=parcel, uploads=[
            SimpleUploadedFile("总平面示意图.png", _site_plan(rng), content_type="image/png")])
    for i, month in enumerate(months):
        for n, street in enumerate(context["streets"]):
            if i == len(months) - 1 and n % 5 == 4:
                continue  # a few streets have not reported this month yet
            services.carrier_report_submit(actor=root, unit=street, month=month)
        # between reports some carriers change
        for carrier in rng.sample(carriers, 6):
            if hasattr(carrier, "area_mu"):
                services.parcel_save(actor=root, parcel=carrier, name=carrier.name, location=carrier.location,
                                     area_mu=carrier.area_mu, planned_use=carrier.planned_use, zoning=carrier.zoning,
                                     status=rng.choice(["idle", "reserved"]))
            else:
                services.building_save(actor=root, building=carrier, name=carrier.name, address=carrier.address,
                                       total_area=carrier.total_area,
                                       vacant_area=(carrier.vacant_area * Decimal("0.8")).quantize(Decimal("1")),
                                       rent=carrier.rent, owner=carrier.owner, main_tenants=carrier.main_tenants)



def _site_plan(rng) -> bytes:
    """A synthetic site plan: the parcel's outline between roads, as a PNG."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 560), "white")
    draw = ImageDraw.Draw(image)
    for y in (60, 500):
        draw.rectangle((0, y - 14, 800, y + 14), fill=(215, 215, 215))
    for x in (70, 730):
        draw.rectangle((x - 14, 0, x + 14, 560), fill=(215, 215, 215))
    left, top = 110 + rng.randint(0, 40), 100 + rng.randint(0, 30)
    right, bottom = 690 - rng.randint(0, 40), 460 - rng.randint(0, 30)
    draw.polygon([(left, top), (right, top + 20), (right - 30, bottom), (left + 10, bottom)], outline=(200, 30, 30),
                 fill=(252, 236, 220), width=4)
    for x in range(left + 20, right - 40, 24):
        draw.line((x, top + 10, x - 30, bottom - 10), fill=(235, 170, 140), width=1)
    draw.line((740, 520, 740, 470), fill="black", width=3)  # north arrow
    draw.polygon([(732, 480), (748, 480), (740, 462)], fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
