"""The Zhongyuan District demo: the real 14 streets, a handful of departments,
synthetic communities and courtyards, and one login per role."""

from __future__ import annotations

import json
import random
from pathlib import Path

from django.db import transaction

from . import services
from .models import OrgUnit, User
from .reach import Role
from .registry import DEMO, DEMO_LOGINS

DATA = Path(__file__).resolve().parent.parent / "data" / "zhongyuan.json"
DEMO_PASSWORD = "Demo@2026"
DEPARTMENTS = [("swj", "商务局"), ("czj", "财政局"), ("smb", "散煤办"), ("tyjrswj", "退役军人事务局"),
               ("wjw", "卫健委"), ("jwjw", "纪委监委")]
COMMUNITY_WORDS = ["建设", "桐柏", "伏牛", "嵩山", "陇海", "中原", "友爱", "绿东", "秀水", "华山", "淮河", "汝河"]

# (username, name, role, unit code) — unit codes are filled in below
LOGINS = [
    ("admin", "区级管理员", Role.DISTRICT_ADMIN, "410102"),
    ("jiandu", "纪检督查员", Role.SUPERVISOR, "410102"),
    ("shangwu", "商务局干部", Role.DEPARTMENT_OFFICER, "410102-swj"),
    ("caizheng", "财政局干部", Role.DEPARTMENT_OFFICER, "410102-czj"),
    ("sanmei", "散煤办干部", Role.DEPARTMENT_OFFICER, "410102-smb"),
    ("tuiyi", "退役军人事务局干部", Role.DEPARTMENT_OFFICER, "410102-tyjrswj"),
    ("weijian", "卫健委干部", Role.DEPARTMENT_OFFICER, "410102-wjw"),
    ("linshanzhai", "林山寨街道干部", Role.STREET_OFFICER, "410102-01"),
    ("jianshelu", "建设路街道干部", Role.STREET_OFFICER, "410102-02"),
    ("caiji", "林山寨采集员", Role.COLLECTOR, "410102-01"),
    ("caigou", "财政局采购人", Role.PURCHASER, "410102-czj"),
    ("pingwei", "竞赛评委", Role.JUDGE, "410102-wjw"),
]


def demo_facts() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def seeded() -> bool:
    return OrgUnit.objects.filter(parent=None).exists()


@transaction.atomic
def seed_core(*, seed: int = 2026) -> dict:
    rng = random.Random(seed)
    facts = demo_facts()
    root = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "root", "", DEMO_PASSWORD, display_name="系统管理员")
    d = facts["district"]
    district = services.orgunit_create(actor=root, parent=None, kind=OrgUnit.Kind.DISTRICT, code=d["division_code"],
                                       name=d["name"])
    departments = {}
    for code, name in DEPARTMENTS:
        departments[name] = services.orgunit_create(actor=root, parent=district, kind=OrgUnit.Kind.DEPARTMENT,
                                                    code=f"{district.code}-{code}", name=name)
    streets = []
    for i, name in enumerate(facts["streets"], start=1):
        street = services.orgunit_create(actor=root, parent=district, kind=OrgUnit.Kind.STREET,
                                         code=f"{district.code}-{i:02d}", name=name)
        streets.append(street)
        words = rng.sample(COMMUNITY_WORDS, 4)
        for j, word in enumerate(words, start=1):
            community = services.orgunit_create(actor=root, parent=street, kind=OrgUnit.Kind.COMMUNITY,
                                                code=f"{street.code}-{j:02d}", name=f"{word}社区")
            for k in range(1, 4):
                services.orgunit_create(actor=root, parent=community, kind=OrgUnit.Kind.COURTYARD,
                                        code=f"{community.code}-{k:02d}", name=f"{word}{k}号院")
    users = {}
    for username, name, role, unit_code in LOGINS:
        unit = OrgUnit.objects.get(code=unit_code)
        users[username] = services.user_create(actor=root, username=username, display_name=name,
                                               password=DEMO_PASSWORD, role=role, unit=unit)
    return {"root": root, "district": district, "streets": streets, "departments": departments, "users": users,
            "rng": rng}


def seed_all() -> dict:
    context = seed_core()
    for seed in DEMO:
        seed(context)
    return context


def logins_text() -> str:
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）："]
    for username, name, role, _unit in LOGINS:
        lines.append(f"  {username:<12} {Role(role).label:<8} {name}")
    for username, role_label, description in DEMO_LOGINS:
        lines.append(f"  {username:<12} {role_label:<8} {description}")
    lines.append(f"  {'root':<12} 系统管理员")
    return "\n".join(lines)
