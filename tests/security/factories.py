"""Objects for the URL kwargs of every route, built through the modules' own services.

``Objects(world).get(kind)`` returns ``(inside, outside)``: ``inside`` lies in street A
(or in the unit the declared table treats as "in reach"), ``outside`` is its twin that the
same people must not reach (street B, or another department). ``SWAP[kind]`` says how the
people who reach ``inside`` translate to those who reach ``outside``. Kinds are built on
first use, so a test pays only for the modules it touches.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from govdesk.core import services as core
from govdesk.core.reach import Role

STREET = {"officer_a": "officer_b", "officer_b": "officer_a"}
DEPARTMENT = {"dept_officer": None}
OWNER = STREET  # owner-based kinds: officer_a owns inside, officer_b owns outside
NONE: dict = {}  # no twin: only ``inside`` is tried (district-wide objects)

# module role -> the module whose objects bring that person (see ``routes.MODULE_ROLES``)
PEOPLE_OF_MODULES = {"purchaser_a": "mall", "supplier_x": "mall", "collector_a": "veterans",
                     "veterans_bureau": "veterans", "organiser": "contest", "judge": "contest", "judge_other": "contest"}

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


class Objects:
    def __init__(self, world):
        self.w = world
        self._cache: dict = {}
        self._module: dict = {}

    def get(self, kind: str):
        if kind not in self._cache:
            self._build(kind.split(".", 1)[0])
        return self._cache[kind]

    def person(self, role: str):
        """The user of a module role (``routes.MODULE_ROLES``), built with its module's objects."""
        if role not in self._module:
            self._build(PEOPLE_OF_MODULES[role])
        return self._module[role]

    def _build(self, app: str) -> None:
        if ("built", app) not in self._module:
            self._module["built", app] = True
            self._cache.update(getattr(self, f"_{app}")())

    # --- core ---------------------------------------------------------------------------------
    def _core(self):
        from govdesk.core.models import ApiToken, Membership, User, Webhook
        from govdesk.core.tables.jobs import table_job_start

        w = self.w
        tok_a, _ = core.token_create(actor=w.officer_a, owner=w.officer_a, name="甲终端")
        tok_b, _ = core.token_create(actor=w.officer_b, owner=w.officer_b, name="乙终端")
        hook_a = core.webhook_create(actor=w.officer_a, unit=w.street_a, name="甲通知", url="https://a.example.cn/h")
        hook_b = core.webhook_create(actor=w.officer_b, unit=w.street_b, name="乙通知", url="https://b.example.cn/h")
        job_a = table_job_start(actor=w.officer_a, direction="export", kind="orgunits")
        job_b = table_job_start(actor=w.officer_b, direction="export", kind="orgunits")
        user_a = w.person("clerk_a", Role.STREET_OFFICER, w.community_a)
        user_b = w.person("clerk_b", Role.STREET_OFFICER, w.community_b)
        return {
            "core.unit": (w.community_a, w.community_b),
            "core.user": (user_a, user_b),
            "core.membership": (Membership.objects.get(user=user_a), Membership.objects.get(user=user_b)),
            "core.token": (ApiToken.objects.get(pk=tok_a.pk), ApiToken.objects.get(pk=tok_b.pk)),
            "core.webhook": (Webhook.objects.get(pk=hook_a.pk), Webhook.objects.get(pk=hook_b.pk)),
            "core.job": (job_a, job_b),
            "core.nobody": (User.objects.get(username="outsider"), None),
        }

    # --- coal ---------------------------------------------------------------------------------
    def _coal(self):
        from govdesk.coal import services
        from govdesk.coal.models import Rectification
        from govdesk.coal.tests.conftest import rectify

        w = self.w
        dept = core.orgunit_create(actor=w.root, parent=w.district, kind="department", code="T100-SMB",
                                   name="散煤办")
        services.office_designate(actor=w.admin, department=dept)
        office = w.person("sanmei", Role.DEPARTMENT_OFFICER, dept)
        now = timezone.now()
        place_a = services.place_create(actor=w.officer_a, community=w.community_a, name="王记烧饼店",
                                        kind="restaurant", address="甲一社区 3 号楼", contact_name="王先生",
                                        contact_phone="13812345678")
        place_b = services.place_create(actor=w.officer_b, community=w.community_b, name="李某某家",
                                        kind="household", address="乙一社区 5 号楼")
        insp_a, _ = services.inspection_record(actor=w.officer_a, place=place_a, inspected_at=now - timedelta(days=1),
                                               findings=rectify())
        insp_b, _ = services.inspection_record(actor=w.officer_b, place=place_b, inspected_at=now - timedelta(days=1),
                                               findings=rectify())
        photo_a = services.photo_add(actor=w.officer_a, inspection=insp_a,
                                     upload=SimpleUploadedFile("a.png", PNG, content_type="image/png"))
        photo_b = services.photo_add(actor=w.officer_b, inspection=insp_b,
                                     upload=SimpleUploadedFile("b.png", PNG, content_type="image/png"))
        campaign = services.campaign_launch(actor=office, district=w.district, title="回头看",
                                            period_start=timezone.localdate(),
                                            period_end=timezone.localdate() + timedelta(days=10), mode="kinds",
                                            kinds=["restaurant", "household"])
        tasks = {t.street_id: t for t in campaign.tasks.all()}
        batch = services.batch_receive(actor=office, district=w.district, title="通告", count=100, source="市散煤办",
                                       received_on=timezone.localdate() - timedelta(days=2))
        alloc_a = services.allocation_set(actor=office, batch=batch, street=w.street_a, count=40)
        alloc_b = services.allocation_set(actor=office, batch=batch, street=w.street_b, count=40)
        post_a = services.posting_record(actor=w.officer_a, allocation=alloc_a, unit=w.courtyard_a, count=5,
                                         location="院门口", posted_on=timezone.localdate() - timedelta(days=1))
        post_b = services.posting_record(actor=w.officer_b, allocation=alloc_b, unit=w.courtyard_b, count=5,
                                         location="院门口", posted_on=timezone.localdate() - timedelta(days=1))
        self._module["coal_office"] = office
        return {
            "coal.place": (place_a, place_b),
            "coal.inspection": (insp_a, insp_b),
            "coal.photo": (photo_a, photo_b),
            "coal.posting": (post_a, post_b),
            "coal.rectification": (Rectification.objects.get(place=place_a), Rectification.objects.get(place=place_b)),
            "coal.campaign": (campaign, None),
            "coal.task": (tasks[w.street_a.pk], tasks[w.street_b.pk]),
            "coal.batch": (batch, None),
        }

    # --- invest -------------------------------------------------------------------------------
    def _invest(self):
        from govdesk.invest import services
        from govdesk.invest.models import Contact, Dimension
        from govdesk.invest.tests.conftest import Desk, Region
        from govdesk.invest.tests.test_services import parcel

        w = self.w
        services.office_configure(actor=w.admin, lead_unit=w.department, stall_amber_days=30, stall_red_days=60)
        finance = core.orgunit_create(actor=w.root, parent=w.district, kind="department", code="T100-D2",
                                      name="财政局")
        finance_officer = w.person("finance", Role.DEPARTMENT_OFFICER, finance)
        yrd = services.squad_create(actor=w.dept_officer, unit=w.department, name="长三角小分队", region=Region.YRD)
        other_squad = services.squad_create(actor=finance_officer, unit=finance, name="财政小分队", region=Region.PRD)
        member_a = services.squad_member_add(actor=w.dept_officer, squad=yrd, user=finance_officer)
        member_b = services.squad_member_add(actor=finance_officer, squad=other_squad, user=finance_officer)
        desk = Desk(world=w, yrd=yrd, prd=other_squad, bohai=yrd, member=finance_officer, finance=finance)
        firm_a = desk.firm("郑州远景科技有限公司", contacts=[("李经理", "总监", "13812345678")])
        firm_b = services.firm_create(actor=finance_officer, unit=finance, name="财政局联系企业有限公司",
                                      industry=desk.industry(), region=Region.PRD, contacts=[("赵", "", "13912345678")])
        dim = Dimension.objects.first()
        assess = [services.assessment_record(actor=actor, firm=firm, met_on=date(2026, 11, 20), conclusion="watch",
                                             priority=2, squad=squad, scores={dim.pk: (70, "依据")})
                  for actor, firm, squad in ((w.dept_officer, firm_a, yrd), (finance_officer, firm_b, other_squad))]
        proj_a = desk.project("远景研发中心", [firm_a])
        proj_b = services.project_create(actor=finance_officer, unit=finance, firms=[firm_b], name="财政项目",
                                         industry=desk.industry(), planned_investment="100", leader="王",
                                         hq_group=desk.group())

        def pdf(name):
            return SimpleUploadedFile(name, b"%PDF-1.4\n% agreement\n", content_type="application/pdf")

        doc_a = services.document_upload(actor=w.dept_officer, project=proj_a, kind="agreement", upload=pdf("a.pdf"))
        doc_b = services.document_upload(actor=finance_officer, project=proj_b, kind="agreement", upload=pdf("b.pdf"))
        appeal_a = desk.appeal(firm_a)
        appeal_b = services.appeal_create(actor=finance_officer, firm=firm_b, category="land", title="用地",
                                          detail="需要用地", urgency="normal", owner_group=desk.group("土地规划组"),
                                          handler=finance_officer, received_on=date(2026, 11, 2))
        meet_a = services.meeting_create(actor=w.dept_officer, unit=w.department, held_on=date(2026, 11, 16))
        meet_b = services.meeting_create(actor=finance_officer, unit=finance, held_on=date(2026, 11, 16))
        task_a = services.task_assign(actor=w.dept_officer, meeting=meet_a, text="落实用地", owner=w.dept_officer,
                                      due_on_date=date(2026, 12, 1))
        task_b = services.task_assign(actor=finance_officer, meeting=meet_b, text="落实资金", owner=finance_officer,
                                      due_on_date=date(2026, 12, 1))
        parcel_a = parcel(w.officer_a, w.street_a, name="甲地块")
        parcel_b = parcel(w.officer_b, w.street_b, name="乙地块")
        draw_a = services.drawing_upload(actor=w.officer_a, parcel=parcel_a,
                                         uploads=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])[0]
        draw_b = services.drawing_upload(actor=w.officer_b, parcel=parcel_b,
                                         uploads=[SimpleUploadedFile("b.png", PNG, content_type="image/png")])[0]
        bld = [services.building_save(actor=o, unit=u, name=n, address="路 1 号", total_area="1000",
                                      vacant_area="100", rent="40", owner="公司")
               for o, u, n in ((w.officer_a, w.street_a, "甲大厦"), (w.officer_b, w.street_b, "乙大厦"))]
        return {
            "invest.firm": (firm_a, firm_b),
            "invest.contact": (Contact.objects.get(firm=firm_a), Contact.objects.get(firm=firm_b)),
            "invest.assessment": tuple(assess),
            "invest.squad": (yrd, other_squad),
            "invest.squad_member": (member_a, member_b),
            "invest.project": (proj_a, proj_b),
            "invest.document": (doc_a, doc_b),
            "invest.drawing": (draw_a, draw_b),
            "invest.appeal": (appeal_a, appeal_b),
            "invest.meeting": (meet_a, meet_b),
            "invest.task": (task_a, task_b),
            "invest.parcel": (parcel_a, parcel_b),
            "invest.building": tuple(bld),
            "invest.street": (w.street_a, w.street_b),
            "invest.member_user": (finance_officer, finance_officer),
        }

    # --- mall ---------------------------------------------------------------------------------
    def _mall(self):
        from govdesk.mall import services
        from govdesk.mall.models import Admission, CartLine, Flag
        from govdesk.mall.tests.conftest import build_mall

        w = self.w
        mall = build_mall(w)
        self._module["mall"] = mall
        # the purchaser (经办) of street A and the supplier whose offers, admission and orders are "inside";
        # the purchaser of street B and supplier Y own the twins
        self._module.update(purchaser_a=mall.buyer_a, supplier_x=mall.seller_x)
        order_a = mall.order(total="6000", days_ago=3)
        mall.order(total="6000")
        order_b = mall.order(unit=w.street_b, supplier=mall.supplier_y, total="100")
        services.sweep()
        flag = Flag.objects.filter(org_unit=w.street_a).first()
        flag_b = Flag.objects.filter(org_unit=w.street_b).first()
        line_a = services.cart_add(actor=mall.buyer_a, offer=mall.paper_x, quantity=2)
        line_b = services.cart_add(actor=mall.buyer_b, offer=mall.paper_y, quantity=2)
        neg_a = services.negotiation_open(actor=mall.buyer_a, order=order_a, total="5000")
        neg_b = services.negotiation_open(actor=mall.buyer_b, order=order_b, total="90")
        adm_x = Admission.objects.filter(supplier=mall.supplier_x).first()
        adm_y = Admission.objects.filter(supplier=mall.supplier_y).first()
        docs = [services.admission_document_add(actor=seller, admission=adm, upload=SimpleUploadedFile(
                    "营业执照.pdf", b"%PDF-1.4\n% licence\n", content_type="application/pdf"))
                for seller, adm in ((mall.seller_x, adm_x), (mall.seller_y, adm_y))]
        return {
            "mall.admission_document": tuple(docs),
            "mall.product": (mall.printer_paper, None),
            "mall.offer": (mall.paper_x, mall.paper_y),
            "mall.admission": (adm_x, adm_y),
            "mall.cartline": (CartLine.objects.get(pk=line_a.pk), CartLine.objects.get(pk=line_b.pk)),
            "mall.order": (order_a, order_b),
            "mall.flag": (flag, flag_b),
            "mall.negotiation": (neg_a, neg_b),
        }

    # --- veterans -----------------------------------------------------------------------------
    def _veterans(self):
        from govdesk.veterans import services
        from govdesk.veterans.models import Slot
        from govdesk.veterans.tests.conftest import id_number, person

        w = self.w
        dept = core.orgunit_create(actor=w.root, parent=w.district, kind="department", code="T100-D9",
                                   name="退役军人事务局")
        bureau = w.person("tuiyi", Role.DEPARTMENT_OFFICER, dept)
        col_a = w.person("collector_a", Role.COLLECTOR, w.street_a)
        # street A's collector (web pages and device token alike); the veterans bureau reaches the district
        self._module.update(collector_a=col_a, veterans_bureau=bureau)
        col_b = w.person("collector_b", Role.COLLECTOR, w.street_b)
        rec_a = services.record_create(actor=col_a, data=person(w.community_a, seq=1))
        rec_b = services.record_create(actor=col_b, data=person(w.community_b, seq=2))
        att_a, _ = services.attachment_add(actor=col_a, record=rec_a, kind="id_card", filename="a.jpg", content=JPEG)
        att_b, _ = services.attachment_add(actor=col_b, record=rec_b, kind="id_card", filename="b.jpg", content=JPEG)
        services.record_submit(actor=col_a, record=rec_a)
        services.record_submit(actor=col_b, record=rec_b)
        from govdesk.veterans import organisation as org
        from govdesk.veterans import uploads
        from govdesk.veterans.models import Attendance

        teams, members, trainings, attendances, questions, ups = [], [], [], [], [], []
        for i, (officer, street, rec) in enumerate(((w.officer_a, w.street_a, rec_a), (w.officer_b, w.street_b, rec_b))):
            team = org.team_create(actor=officer, unit=street, kind="qa", name=f"答疑组{i}")
            teams.append(team)
            members.append(org.team_member_add(actor=officer, team=team, name="组员"))
            training = org.training_create(actor=officer, unit=street, title="采集培训", held_on=date(2026, 11, 1),
                                           place="街道会议室")
            trainings.append(training)
            org.attendance_add(actor=officer, training=training, unit=street, names="张三")
            attendances.append(Attendance.objects.filter(training=training).first())
            questions.append(org.question_log(actor=officer, unit=street, question="如何预约？", asked_by="群众"))
            upload, _ = uploads.upload_start(actor=officer, record=rec, upload_uuid=f"00000000-0000-4000-8000-00000000000{i}",
                                             kind="id_card", size=len(JPEG), sha256="0" * 64,
                                             content_type="image/jpeg", filename="id.jpg")
            ups.append(upload)
        for rec in (rec_a, rec_b):  # a change request is for archived records only
            services.record_review(actor=w.admin, record=rec)
            services.record_archive(actor=w.admin, record=rec)
            rec.refresh_from_db()
        ch = []
        for seq, actor, rec, unit in ((1, w.officer_a, rec_a, w.community_a), (2, w.officer_b, rec_b, w.community_b)):
            data = person(unit, seq=seq, phone="13900001111")
            ch.append(services.change_request_create(actor=actor, record=rec, data=data,
                                                     reason="号码变更", base_version=rec.version))
        points, slots, appts = [], [], []
        for i, (officer, unit) in enumerate(((w.officer_a, w.community_a), (w.officer_b, w.community_b))):
            point = services.point_create(actor=officer, unit=unit, name=f"采集点{i}", address="建设路 1 号",
                                          opens_at=time(9, 0), closes_at=time(11, 0), daily_capacity=4,
                                          slot_minutes=60, open_days=3)
            slot = Slot.objects.filter(point=point).order_by("starts_at").last()
            appts.append(services.appointment_book(actor=officer, slot=slot, name="预约人",
                                                   id_number=id_number(seq=20 + i)))
            points.append(point)
            slots.append(slot)
        return {
            "veterans.team": tuple(teams),
            "veterans.team_member": tuple(members),
            "veterans.training": tuple(trainings),
            "veterans.attendance": tuple(attendances),
            "veterans.question": tuple(questions),
            "veterans.upload": tuple(ups),
            "veterans.record": (rec_a, rec_b),
            "veterans.change": tuple(ch),
            "veterans.attachment": (att_a, att_b),
            "veterans.point": tuple(points),
            "veterans.slot": tuple(slots),
            "veterans.appointment": tuple(appts),
        }

    # --- contest ------------------------------------------------------------------------------
    def _contest(self):
        from govdesk.contest import services
        from govdesk.contest.tests.conftest import build_contest
        from govdesk.contest.tests.test_queries import publish
        from govdesk.contest.tests.test_services import score_everything

        contest = build_contest(self.w)
        self._module["contest"] = contest
        # the judge of the inside sheet, and a judge of the same department on no panel (owns no sheet)
        self._module.update(organiser=contest.organiser, judge=contest.users[0],
                            judge_other=self.w.person("judge_free", Role.JUDGE, contest.wjw, name="评委四"))
        contest.advance_and_open(chief=2)
        score_everything(contest)
        sheet = contest.sheet(0, 1)
        correction = services.correction_request(actor=contest.users[0], sheet=sheet, points=contest.full_marks(),
                                                 seconds_used=500, reason="漏记")
        services.correction_reject(actor=contest.world.supervisor, correction=correction, note="不予更正")
        rows = publish(contest)
        row = next(r for r in rows if r.entry.contestant.name == "张敏")  # hospital A's contestant
        appeal = services.appeal_file(actor=contest.hosp_a_officer, result=row, reason="计时有误")
        return {
            "contest.competition": (contest.competition, None),
            "contest.event": (contest.event, None),
            "contest.item": (contest.items[0], None),
            "contest.contestant": (contest.contestants[0], None),
            "contest.sheet": (sheet, None),
            "contest.correction": (correction, None),
            "contest.result": (row, None),
            "contest.appeal": (appeal, None),
        }
