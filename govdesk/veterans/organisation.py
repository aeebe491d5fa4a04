"""The campaign's organisation: teams and their members, street collection offices and their
liaisons, trainings with attendance (counted towards the campaign's trained total), and the
Q&A team's log that becomes the FAQ. Writes validate, check reach, audit — one transaction each;
the reads at the bottom start from ``restrict``."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from govdesk.core import personal
from govdesk.core.audit import Entry, audit, audit_many
from govdesk.core.errors import NotInReach, ServiceError
from govdesk.core.models import AuditEvent, OrgUnit, User
from govdesk.core.reach import CHANGE, VIEW, memberships_of, require
from govdesk.core.services import pinyin_of

from .models import ORGANISERS, WORKERS, Attendance, Office, Question, Team, TeamMember, Training, reach_paths
from .services import _require_unit

A = AuditEvent.Action
K = OrgUnit.Kind
TRAINING_TARGET = getattr(settings, "VETERANS_TRAINING_TARGET", 198)


def _text(value, label: str, limit: int, errors: dict, key: str, required: bool = True,
          multiline: bool = False) -> str:
    lines = [" ".join(line.split()) for line in str(value or "").splitlines()]  # also the ideographic space
    value = "\n".join(line for line in lines if line) if multiline else " ".join(line for line in lines if line)
    if required and not value:
        errors[key] = f"请填写{label}"
    elif len(value) > limit:
        errors[key] = f"{label}不能超过 {limit} 个字"
    return value


def _raise(errors: dict) -> None:
    if errors:
        raise ServiceError(next(iter(errors.values())), fields=errors)


# --- teams ---------------------------------------------------------------------------------------

@transaction.atomic
def team_create(*, actor, unit: OrgUnit, kind: str, name: str, duty: str = "") -> Team:
    errors: dict = {}
    if kind not in Team.Kind.values:
        errors["kind"] = "请选择工作组类型"
    name = _text(name, "名称", 100, errors, "name")
    duty = _text(duty, "职责", 2000, errors, "duty", required=False, multiline=True)
    if unit.kind not in (K.DISTRICT, K.DEPARTMENT, K.STREET):
        errors["unit"] = "工作组设在区、部门或街道"
    _raise(errors)
    _require_unit(actor, unit, ORGANISERS, "设立工作组")
    if Team.objects.filter(org_unit=unit, name=name).exists():
        raise ServiceError(f"「{unit.name}」已有名为「{name}」的工作组", fields={"name": "名称已存在"})
    team = Team.objects.create(org_unit=unit, kind=kind, name=name, duty=duty)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=team, changes={"kind": kind, "name": name})
    return team


@transaction.atomic
def team_member_add(*, actor, team: Team, name: str, position: str = "", leader: bool = False,
                    user: User | None = None) -> TeamMember:
    require(actor, team, CHANGE)
    errors: dict = {}
    name = _text(name or (user.label if user else ""), "姓名", 50, errors, "name")
    position = _text(position, "职务/分工", 50, errors, "position", required=False)
    _raise(errors)
    if TeamMember.objects.filter(team=team, name=name).exists():
        raise ServiceError(f"「{name}」已在{team.name}中", fields={"name": "已是该组成员"})
    member = TeamMember.objects.create(team=team, name=name, position=position, leader=bool(leader), user=user)
    audit(actor=actor, action=A.CREATE, unit=team.org_unit, obj=member, verb="team_member",
          changes={"team": team.name, "name": name, "position": position, "leader": bool(leader)})
    return member


@transaction.atomic
def team_member_remove(*, actor, member: TeamMember) -> None:
    require(actor, member, CHANGE)
    if not TeamMember.objects.select_for_update().filter(pk=member.pk).exists():
        raise NotInReach()  # removed meanwhile (a double submit)
    team = member.team
    audit(actor=actor, action=A.DELETE, unit=team.org_unit, obj=member, verb="team_member",
          changes={"team": team.name, "name": member.name})
    member.delete()


# --- street offices -----------------------------------------------------------------------------

@transaction.atomic
def office_set(*, actor, street: OrgUnit, address: str, liaison: User, office_phone: str = "") -> Office:
    """Set up (or change) a street's collection office and its liaison, who must work in that street."""
    errors: dict = {}
    if street.kind != K.STREET:
        errors["street"] = "采集办公室按街道设立"
    address = _text(address, "办公地点", 200, errors, "address")
    office_phone = _text(office_phone, "办公电话", 20, errors, "office_phone", required=False)
    if office_phone and not all(c.isdigit() or c in "-" for c in office_phone):
        errors["office_phone"] = "办公电话只能包含数字和“-”"
    if liaison is None:
        errors["liaison"] = "请选择联络员"
    elif not any(role in WORKERS and path.startswith(street.path) for role, path in memberships_of(liaison)):
        errors["liaison"] = f"联络员应为「{street.name}」的工作人员或采集员"
    _raise(errors)
    _require_unit(actor, street, ORGANISERS, "设立采集办公室")
    office = Office.objects.select_for_update().filter(org_unit=street).first()
    if office is None:
        office = Office.objects.create(org_unit=street, address=address, office_phone=office_phone, liaison=liaison)
        audit(actor=actor, action=A.CREATE, unit=street, obj=office,
              changes={"address": address, "office_phone": office_phone, "liaison": liaison.label})
        return office
    before = {"address": office.address, "office_phone": office.office_phone, "liaison": office.liaison.label}
    office.address, office.office_phone, office.liaison = address, office_phone, liaison
    after = {"address": address, "office_phone": office_phone, "liaison": liaison.label}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        office.save()
        audit(actor=actor, action=A.UPDATE, unit=street, obj=office, changes=changes)
    return office


# --- trainings and attendance ----------------------------------------------------------------------

@transaction.atomic
def training_create(*, actor, unit: OrgUnit, title: str, held_on: date, place: str, trainer: str = "") -> Training:
    errors: dict = {}
    title = _text(title, "培训主题", 100, errors, "title")
    place = _text(place, "地点", 100, errors, "place")
    trainer = _text(trainer, "授课人", 50, errors, "trainer", required=False)
    if not isinstance(held_on, date):
        errors["held_on"] = "请填写培训日期"
    _raise(errors)
    _require_unit(actor, unit, ORGANISERS, "组织培训")
    training = Training.objects.create(org_unit=unit, title=title, held_on=held_on, place=place, trainer=trainer)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=training,
          changes={"title": title, "held_on": held_on.isoformat(), "place": place, "trainer": trainer})
    return training


@transaction.atomic
def attendance_add(*, actor, training: Training, unit: OrgUnit, names) -> int:
    """Sign people of ``unit`` in (one name per line as people paste a list); names already
    signed in are left alone. Returns how many were added."""
    require(actor, training, CHANGE)
    roots = [training.org_unit.path, *reach_paths(actor, ORGANISERS)]
    if not any(unit.path.startswith(root) for root in roots):
        raise ServiceError(f"「{unit.name}」不在您的工作范围内", fields={"unit": "单位不在范围内"})
    if isinstance(names, str):
        names = names.replace("，", "\n").replace("、", "\n").replace(",", "\n").splitlines()
    cleaned = list(dict.fromkeys(n for n in (personal.fold(x).strip() for x in names) if n))
    if not cleaned:
        raise ServiceError("请填写参训人员姓名", fields={"names": "请填写姓名，每行一个"})
    too_long = [n for n in cleaned if len(n) > 50]
    if too_long:
        raise ServiceError(f"姓名不能超过 50 个字：{too_long[0][:20]}…", fields={"names": "姓名过长"})
    have = set(Attendance.objects.filter(training=training, org_unit=unit, name__in=cleaned)
               .values_list("name", flat=True))
    users = {u.display_name or u.username: u for u in User.objects.filter(
        Q(display_name__in=cleaned) | Q(username__in=cleaned), memberships__org_unit=unit).distinct()}
    new = [Attendance(training=training, org_unit=unit, name=n, user=users.get(n)) for n in cleaned if n not in have]
    try:
        with transaction.atomic():
            Attendance.objects.bulk_create(new)
    except IntegrityError:
        raise ServiceError("有人同时在登记这场培训的签到，请刷新后重试") from None
    audit_many(actor=actor, entries=[Entry(action=A.CREATE, unit=training.org_unit, obj=a, verb="attendance",
                                           object_repr=f"{training.title}：{a.name}",
                                           changes={"training": training.pk, "name": a.name, "unit": unit.name})
                                     for a in Attendance.objects.filter(training=training, org_unit=unit,
                                                                        name__in=[a.name for a in new])])
    return len(new)


@transaction.atomic
def attendance_remove(*, actor, attendance: Attendance) -> None:
    require(actor, attendance, CHANGE)
    if not Attendance.objects.select_for_update().filter(pk=attendance.pk).exists():
        raise NotInReach()  # removed meanwhile (a double submit)
    audit(actor=actor, action=A.DELETE, unit=attendance.training.org_unit, obj=attendance, verb="attendance",
          object_repr=f"{attendance.training.title}：{attendance.name}",
          changes={"training": attendance.training_id, "name": attendance.name})
    attendance.delete()


# --- the Q&A log and the FAQ -------------------------------------------------------------------------

def _initials(text: str) -> str:
    return pinyin_of(text[:200])[1][:200]


@transaction.atomic
def question_log(*, actor, unit: OrgUnit, question: str, asked_by: str, asked_at: datetime | None = None,
                 topic: str = "", answer: str = "", publish: bool = False) -> Question:
    """Log a question (and its answer when given on the spot)."""
    errors: dict = {}
    question = _text(question, "问题", 2000, errors, "question", multiline=True)
    asked_by = _text(asked_by, "提问人", 100, errors, "asked_by")
    topic = _text(topic, "分类", 32, errors, "topic", required=False)
    answer = _text(answer, "解答", 4000, errors, "answer", required=False, multiline=True)
    asked_at = asked_at or timezone.now()
    if asked_at > timezone.now():
        errors["asked_at"] = "提问时间不能晚于现在"
    if publish and not answer:
        errors["answer"] = "列入常见问题前请先填写解答"
    _raise(errors)
    _require_unit(actor, unit, ORGANISERS, "登记答疑")
    now = timezone.now()
    item = Question.objects.create(org_unit=unit, question=question, asked_by=asked_by, asked_at=asked_at,
                                   topic=topic, answer=answer, answered_by=actor if answer else None,
                                   answered_at=now if answer else None, published=bool(publish and answer),
                                   initials=_initials(question), logged_by=actor)
    audit(actor=actor, action=A.CREATE, unit=unit, obj=item, verb="question",
          changes={"question": question, "asked_by": asked_by, "answer": answer, "published": item.published})
    return item


@transaction.atomic
def question_answer(*, actor, question: Question, answer: str, publish: bool) -> Question:
    question = Question.objects.select_for_update().get(pk=question.pk)
    require(actor, question, CHANGE)
    errors: dict = {}
    answer = _text(answer, "解答", 4000, errors, "answer", multiline=True)
    _raise(errors)
    before = {"answer": question.answer, "published": question.published}
    if question.answer != answer:
        question.answer, question.answered_by, question.answered_at = answer, actor, timezone.now()
    question.published = bool(publish)
    after = {"answer": question.answer, "published": question.published}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        question.save()
        audit(actor=actor, action=A.UPDATE, unit=question.org_unit, obj=question, verb="answer", changes=changes)
    return question


# --- reads -------------------------------------------------------------------------------------------

def teams_visible(user):
    return Team.objects.restrict(user, VIEW).select_related("org_unit").prefetch_related("members")


def offices_visible(user):
    return Office.objects.restrict(user, VIEW).select_related("org_unit", "liaison")


def trainings_visible(user):
    return Training.objects.restrict(user, VIEW).select_related("org_unit").annotate(people=Count("attendances"))


def trained_people(user) -> int:
    """People trained so far (each once, however many trainings they attended)."""
    return (Attendance.objects.restrict(user, VIEW).values("org_unit", "name").distinct().order_by().count())


def questions_visible(user, *, unanswered: bool = False):
    qs = Question.objects.restrict(user, VIEW).select_related("org_unit", "answered_by")
    if unanswered:
        qs = qs.filter(answer="")
    return qs


def faq(user, q: str = ""):
    """Published answers, searchable by words of the question or answer, or by the pinyin
    initials of the question (``cjd`` finds 采集点…)."""
    qs = Question.objects.restrict(user, VIEW).filter(published=True).exclude(answer="")
    words_typed = str(q or "").split()[:5]
    if words_typed:
        words = Q()
        for word in words_typed:
            words &= Q(question__icontains=word) | Q(answer__icontains=word) | Q(topic__icontains=word)
        letters = "".join(words_typed)
        if letters.isascii() and letters.isalpha():
            words |= Q(initials__contains=letters.lower())
        qs = qs.filter(words)
    return qs.order_by("topic", "-asked_at", "-id")


def units_for_organising(user, kinds):
    paths = reach_paths(user, ORGANISERS)
    if not paths:
        return OrgUnit.objects.none()
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return OrgUnit.objects.filter(q, kind__in=kinds, retired_at__isnull=True).order_by("path")
