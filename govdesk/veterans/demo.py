"""The veterans campaign's demo: expected base numbers for the 14 streets, 40 collection
points, a few thousand synthetic people with valid ID numbers in every review state, and
appointments for the coming week — all written through the services, in batches."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from govdesk.core import services as core_services
from govdesk.core.demo import DEMO_PASSWORD
from govdesk.core.models import OrgUnit
from govdesk.core.reach import Role

from . import services
from .models import (
    BRANCHES,
    DISCHARGE_TYPES,
    EDUCATIONS,
    PLACEMENTS,
    POLITICAL_STATUSES,
    Category,
    Slot,
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国军伟强磊洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建华亮成敏秀英丽娟霞芳燕红玲桂兰"
# stdnum checks a county code against the birth year (410102 中原区 exists since 1983), so older
# people get the city's code or a county code of their time.
REGIONS_FROM_1983 = ["410102", "410103", "410105", "410122"]
REGIONS_BEFORE_1983 = ["410100", "410120", "410121"]
ROADS = ["建设路", "桐柏路", "伏牛路", "嵩山路", "陇海路", "中原路", "华山路", "淮河路", "汝河路", "工人路"]
EXTRA_COLLECTORS = [("caiji2", "建设路采集员", 1)]  # each login costs a password hash (~1 s)
PEOPLE = 2500
APPOINTMENTS = 150


def _id_number(rng, used: set) -> tuple[str, str, date]:
    while True:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 56))
        gender = rng.choice("男女")
        seq = rng.randrange(0, 500) * 2 + (1 if gender == "男" else 0)
        region = rng.choice(REGIONS_FROM_1983 if born.year >= 1983 else REGIONS_BEFORE_1983)
        body = f"{region}{born:%Y%m%d}{seq:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if number not in used:
            used.add(number)
            return number, gender, born


def _person(rng, used, category: Category, community: OrgUnit) -> dict:
    number, gender, born = _id_number(rng, used)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    address = f"郑州市中原区{rng.choice(ROADS)}{rng.randrange(1, 300)}号{rng.randrange(1, 20)}号楼"
    data = {"name": name, "gender": gender, "birth_date": born, "ethnicity": "汉族" if rng.random() < 0.95 else "回族",
            "id_number": number, "phone": f"1{rng.choice('35789')}{rng.randrange(10**8, 10**9)}",
            "category": category, "community": community, "household_address": address,
            "residential_address": address, "political_status": rng.choice(POLITICAL_STATUSES),
            "education": rng.choice(EDUCATIONS)}
    if category.requires_service:
        enlisted = date(born.year + 18 + rng.randrange(0, 4), rng.randrange(1, 13), 1)
        if enlisted >= date.today():
            enlisted = date(born.year + 18, 3, 1)
        discharged = min(enlisted + timedelta(days=365 * rng.choice((2, 3, 5, 8, 12, 16))),
                         date.today() - timedelta(days=30))
        if discharged <= enlisted:
            discharged = enlisted + timedelta(days=1)
        data.update(enlisted_on=enlisted, discharged_on=discharged, branch=rng.choice(BRANCHES[:6]),
                    service_unit=f"{rng.randrange(31000, 96999)}部队", rank=rng.choice(["上等兵", "下士", "中士", "上尉"]),
                    discharge_type=rng.choice(DISCHARGE_TYPES[:3]), placement=rng.choice(PLACEMENTS[:4]))
    if category.requires_disability:
        data.update(disability_grade=rng.randrange(1, 11), disability_nature=rng.choice(["因战", "因公", "因病"]),
                    disability_certificate=f"豫{rng.randrange(10**6, 10**7)}")
    if not category.requires_service:
        data["family_link"] = rng.choice(["烈士之子", "烈士之女", "军人配偶", "军人父亲", "军人母亲"])
    return data


def seed(context: dict) -> None:
    rng = context["rng"]
    users = context["users"]
    streets: list[OrgUnit] = context["streets"]
    tuiyi, root = users["tuiyi"], context["root"]
    collectors = {0: users["caiji"]}
    for username, label, index in EXTRA_COLLECTORS:
        collectors[index] = core_services.user_create(actor=root, username=username, display_name=label,
                                                      password=DEMO_PASSWORD, role=Role.COLLECTOR,
                                                      unit=streets[index])
    communities = {s.pk: list(OrgUnit.objects.filter(parent=s, kind=OrgUnit.Kind.COMMUNITY).order_by("code"))
                   for s in streets}
    categories = list(Category.objects.filter(active=True))
    weights = [40, 8, 6, 6, 6, 4, 2, 3, 12, 2, 4, 1][: len(categories)]

    # expected base numbers and points, by the veterans department
    expected = {}
    for street in streets:
        expected[street.pk] = rng.randrange(180, 320)
        services.expected_set(actor=tuiyi, street=street, expected=expected[street.pk])
    points = []
    for i in range(40):
        street = streets[i % len(streets)]
        community = communities[street.pk][(i // len(streets)) % len(communities[street.pk])]
        points.append(services.point_create(
            actor=tuiyi, unit=community, name=f"{street.name}{community.name}采集点",
            address=f"郑州市中原区{rng.choice(ROADS)}{rng.randrange(1, 300)}号{community.name}党群服务中心",
            opens_at=time(8, 30), closes_at=time(17, 0),
            daily_capacity=rng.choice((40, 60, 80)), slot_minutes=30, open_days=7))

    # people: each street's share of its expected number, some streets behind
    used: set[str] = set()
    today = timezone.localdate()
    street_points = {s.pk: [p for p in points if p.org_unit.parent_id == s.pk] for s in streets}
    total = sum(expected.values())
    for index, street in enumerate(streets):
        pace = rng.uniform(0.35, 0.95)
        count = min(int(PEOPLE * expected[street.pk] / total * pace / 0.65), expected[street.pk])
        items = [_person(rng, used, rng.choices(categories, weights)[0], rng.choice(communities[street.pk]))
                 for _ in range(count)]
        # Collection over the past two weeks, so the per-day chart has a history.
        for item in items:
            item["collected_at"] = timezone.now() - timedelta(days=rng.randrange(0, 14), minutes=rng.randrange(0, 600))
            item["point"] = rng.choice(street_points[street.pk]) if street_points[street.pk] else None
        actor = collectors.get(index, tuiyi)
        with transaction.atomic():
            drafts = max(1, count // 25)
            services.record_bulk_create(actor=actor, items=items[:drafts], submit=False)
            records = services.record_bulk_create(actor=actor, items=items[drafts:], submit=True)
            reviewer = users["linshanzhai"] if index == 0 else users["jianshelu"] if index == 1 else tuiyi
            reviewed = [r for r in records if rng.random() < 0.6]
            services.record_bulk_review(actor=reviewer, records=reviewed)
            services.record_bulk_archive(actor=reviewer, records=[r for r in reviewed if rng.random() < 0.55])
            reviewed_ids = {r.pk for r in reviewed}
            for record in [r for r in records if r.pk not in reviewed_ids][:3]:
                services.record_return(actor=reviewer, record=record,
                                       reason=rng.choice(["身份证扫描件不清晰", "退伍证信息与登记不符", "缺少户口簿"]))

    # appointments for the coming week (and today's, some checked in already)
    slots = list(Slot.objects.filter(point__in=points, day__gte=today, day__lt=today + timedelta(days=7))
                 .order_by("point", "day", "starts_at"))
    for n, slot in enumerate(rng.sample(slots, min(len(slots), APPOINTMENTS))):
        number, gender, born = _id_number(rng, used)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        appointment = services.appointment_book(actor=tuiyi, slot=slot, name=name, id_number=number,
                                                phone=f"13{rng.randrange(10**8, 10**9)}")
        if slot.day == today and n % 3 == 0:
            services.appointment_check_in(actor=tuiyi, appointment=appointment)

    seed_organisation(context, collectors)


# --- the campaign's organisation -------------------------------------------------------------------

TEAMS = [
    ("collection", "信息采集和身份认证组", "指导各采集点采集信息、核验身份，处理重复采集", ["组长", "副组长", "成员", "成员", "成员"]),
    ("technical", "技术指导组", "采集终端与系统的安装、培训和故障处理", ["组长", "成员", "成员"]),
    ("qa", "政策答疑组", "解答群众和采集员的政策问题，整理常见问题", ["组长", "成员", "成员", "成员"]),
    ("supervision", "督导检查组", "督导各街道进度，落实“三个预防”（防拥挤、防冲突、防混乱）", ["组长", "成员", "成员"]),
]
TRAININGS = [
    ("信息采集工作动员暨业务培训", "区政务服务中心三楼会议室", "区退役军人事务局"),
    ("采集终端与系统操作培训", "区政务服务中心三楼会议室", "技术指导组"),
    ("优抚对象类别与政策解读", "区委党校报告厅", "政策答疑组"),
    ("身份核验与材料审核培训", "区政务服务中心三楼会议室", "信息采集和身份认证组"),
    ("采集点秩序与“三个预防”培训", "区委党校报告厅", "督导检查组"),
]
TRAINED = 198  # the reference district's figure
QUESTIONS = [
    ("材料", "到采集点需要带哪些材料？", "本人身份证、户口簿、退役证件（退伍证、转业证等）原件；有立功受奖、伤残等情况的，带相应证书。"),
    ("材料", "退伍证丢失了还能采集吗？", "可以。先如实登记，由采集员注明“证件遗失”，后续凭档案或部队证明补充。"),
    ("范围", "现役军人家属需要采集吗？", "需要，按“现役军人家属”类别采集，并填写与现役军人的关系。"),
    ("范围", "户籍不在本区但长期居住在本区，在哪里采集？", "原则上在户籍地采集；确有困难的，可在居住地采集点登记后由区局协调。"),
    ("范围", "烈士遗属由谁来采集？", "与其他优抚对象一样，到所在街道的采集点或预约上门采集。"),
    ("预约", "预约后可以改期吗？", "可以。在预约单上改约到其他时段，或取消后重新预约。"),
    ("预约", "行动不便的老人怎么采集？", "由社区工作人员代为预约“上门采集”，采集员按约定时间上门。"),
    ("预约", "没有预约可以直接去采集点吗？", "可以，但为避免拥挤，请优先预约；现场按采集点当日余量安排。"),
    ("信息", "身份证号和性别对不上怎么办？", "系统会提示性别或出生日期与身份证号不符，请核对原件后更正；确属证件错误的，先到公安机关更正。"),
    ("信息", "已经采集过，发现信息有误怎么改？", "未审核的由采集员直接修改；已归档的提交变更申请，由审核人批准后生效。"),
    ("信息", "个人信息会泄露吗？", "身份证号和电话加密保存，页面只显示部分号码，查看完整号码须有权限并留痕。"),
    ("进度", "采集工作什么时候结束？", "以区退役军人事务局通知为准，各街道按应采集基数每周上报进度。"),
    ("系统", "采集终端没有网络时能采集吗？", "可以。终端离线保存，恢复网络后自动上传，不会重复登记。"),
    ("系统", "扫描件上传失败怎么办？", "检查文件是否为 JPG、PNG 或 PDF 且不超过 10 MB；网络中断后可以续传。"),
]


def seed_organisation(context: dict, collectors: dict) -> None:
    """Teams of the veterans department, the street offices that have a liaison among the demo
    people, trainings whose attendance adds up to the reference district's 198, and the Q&A log."""
    from . import organisation

    rng = context["rng"]
    users = context["users"]
    streets: list[OrgUnit] = context["streets"]
    tuiyi = users["tuiyi"]
    department = context["departments"].get("退役军人事务局") or streets[0].parent
    for kind, name, duty, posts in TEAMS:
        team = organisation.team_create(actor=tuiyi, unit=department, kind=kind, name=name, duty=duty)
        for n, post in enumerate(posts):
            person = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            organisation.team_member_add(actor=tuiyi, team=team, name=f"{person}" if n else tuiyi.label,
                                         position=post, leader=n == 0, user=tuiyi if n == 0 else None)
    liaisons = {0: collectors.get(0), 1: collectors.get(1)}
    for index, liaison in liaisons.items():
        if liaison is not None and index < len(streets):
            organisation.office_set(actor=tuiyi, street=streets[index], liaison=liaison,
                                    address=f"{streets[index].name}办事处一楼便民服务大厅",
                                    office_phone=f"0371-6{rng.randrange(10**6, 10**7)}")

    # 198 people from the streets, each at one or two of the trainings
    people: list[tuple[OrgUnit, str]] = []
    seen: set[tuple[int, str]] = set()
    while len(people) < TRAINED:
        street = streets[len(people) % len(streets)]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if (street.pk, name) not in seen:
            seen.add((street.pk, name))
            people.append((street, name))
    first_day = timezone.localdate() - timedelta(days=20)
    trainings = [organisation.training_create(actor=tuiyi, unit=department, title=title, place=place, trainer=trainer,
                                              held_on=first_day + timedelta(days=3 * i))
                 for i, (title, place, trainer) in enumerate(TRAININGS)]
    sign_ins: dict[tuple, list[str]] = {}
    for n, (street, name) in enumerate(people):
        attended = {trainings[n % len(trainings)]}
        if rng.random() < 0.3:
            attended.add(rng.choice(trainings))
        for training in attended:
            sign_ins.setdefault((training, street), []).append(name)
    for (training, street), names in sign_ins.items():
        organisation.attendance_add(actor=tuiyi, training=training, unit=street, names=names)

    now = timezone.now()
    askers = ["群众来电", "退役士兵家属", "社区工作人员", "采集员", "街道联络员"]
    for n, (topic, question, answer) in enumerate(QUESTIONS):
        asked = now - timedelta(days=rng.randrange(1, 18), minutes=rng.randrange(0, 600))
        unanswered = n in (7, 12)
        organisation.question_log(actor=tuiyi, unit=department if n % 3 else context["district"],
                                  question=question, asked_by=rng.choice(askers),
                                  asked_at=asked, topic=topic,
                                  answer="" if unanswered else answer, publish=not unanswered)
