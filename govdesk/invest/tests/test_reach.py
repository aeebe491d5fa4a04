"""Who sees and changes what: exact visible sets, refused writes, 404s."""

from datetime import date

import pytest

from govdesk.core.models import PeriodicReport
from govdesk.core.testing import assert_visible_set, assert_write_refused
from govdesk.invest import queries, services
from govdesk.invest.models import Activity, Assessment, Building, Firm, Parcel, Project

from .test_services import parcel

pytestmark = pytest.mark.django_db

CHANGE = "change"


@pytest.fixture
def records(desk):
    w = desk.world
    yrd_firm = desk.firm("长三角企业有限公司", squad=desk.yrd)
    prd_firm = desk.firm("珠三角企业有限公司", squad=desk.prd, region="prd")
    loose = desk.firm("未分配企业有限公司")
    services.activity_record(actor=w.dept_officer, firm=yrd_firm, kind="visit", happened_on=date(2026, 11, 3),
                             participants="甲", summary="拜访")
    services.activity_record(actor=w.dept_officer, firm=prd_firm, kind="reception", happened_on=date(2026, 11, 4),
                             participants="乙", summary="接待")
    parcel_a = parcel(w.officer_a, w.street_a, name="甲地块")
    parcel_b = parcel(w.officer_b, w.street_b, name="乙地块")
    tower_b = services.building_save(actor=w.officer_b, unit=w.street_b, name="乙大厦", address="乙路 1 号",
                                     total_area="1000", vacant_area="100", rent="40", owner="乙公司")
    finance_parcel = parcel(desk.member, desk.finance, name="财政局地块")
    return {"yrd": yrd_firm, "prd": prd_firm, "loose": loose, "parcel_a": parcel_a, "parcel_b": parcel_b,
            "tower_b": tower_b, "finance_parcel": finance_parcel}


def test_the_bureau_and_the_supervisor_see_every_firm_and_streets_see_none(desk, records):
    w, every = desk.world, [records["yrd"], records["prd"], records["loose"]]
    assert_visible_set(Firm, w.dept_officer, every)
    assert_visible_set(Firm, w.admin, every)
    assert_visible_set(Firm, w.supervisor, every)
    assert_visible_set(Firm, w.officer_a, [])
    assert_visible_set(Firm, w.outsider, [])


def test_a_squad_member_sees_only_the_squads_firms_and_their_history(desk, records):
    member = desk.member
    assert_visible_set(Firm, member, [records["yrd"]])
    assert_visible_set(Activity, member, Activity.objects.filter(firm=records["yrd"]))
    assert_visible_set(Firm, member, [records["yrd"]], action=CHANGE)
    # ...and not the bureau's projects
    desk.project("长三角项目", [records["yrd"]])
    assert_visible_set(Project, member, [])


def test_an_assessment_hands_the_firm_to_the_squad_members(desk, records):
    from govdesk.invest.models import Dimension
    dim = Dimension.objects.first()
    services.assessment_record(actor=desk.world.dept_officer, firm=records["loose"], met_on=date(2026, 11, 20),
                               conclusion="watch", priority=2, squad=desk.yrd, scores={dim.pk: (70, "依据")})
    assert_visible_set(Firm, desk.member, [records["yrd"], records["loose"]])
    assert_visible_set(Assessment, desk.member, Assessment.objects.all())


def test_the_supervisor_reads_everything_and_changes_nothing(desk, records):
    w = desk.world
    assert_visible_set(Firm, w.supervisor, [], action=CHANGE)
    assert_write_refused(lambda: services.activity_record(
        actor=w.supervisor, firm=records["yrd"], kind="visit", happened_on=date(2026, 11, 3), participants="x",
        summary="y"), models=[Activity])
    assert_write_refused(lambda: services.firm_create(
        actor=w.supervisor, unit=w.department, name="督查新增企业", industry=desk.industry(), region="yrd"),
        models=[Firm])
    assert_write_refused(lambda: services.firm_merge(actor=w.supervisor, survivor=records["yrd"],
                                                     duplicate=records["loose"]), models=[Firm])
    assert_write_refused(lambda: services.parcel_save(
        actor=w.supervisor, parcel=records["parcel_a"], name="改名", location="x", area_mu="1",
        planned_use="industrial", zoning="", status="idle"), models=[Parcel])


def test_a_street_officer_sees_and_reports_only_its_own_carriers(desk, records):
    w = desk.world
    assert_visible_set(Parcel, w.officer_a, [records["parcel_a"]])
    assert_visible_set(Parcel, w.officer_b, [records["parcel_b"]])
    assert_visible_set(Building, w.officer_a, [])
    assert_write_refused(lambda: services.parcel_save(
        actor=w.officer_a, parcel=records["parcel_b"], name="乙地块", location="x", area_mu="1",
        planned_use="industrial", zoning="", status="idle"), models=[Parcel])
    assert_write_refused(lambda: parcel(w.officer_a, w.street_b, name="冒报地块"), models=[Parcel])
    assert_write_refused(lambda: services.carrier_report_submit(actor=w.officer_a, unit=w.street_b,
                                                                month=date(2026, 11, 1)), models=[PeriodicReport])


def test_the_bureau_reads_every_carrier_of_the_district_but_changes_none_of_the_streets(desk, records):
    w = desk.world
    every = [records["parcel_a"], records["parcel_b"], records["finance_parcel"]]
    assert_visible_set(Parcel, w.dept_officer, every)
    assert_visible_set(Parcel, w.supervisor, every)
    assert_visible_set(Building, w.dept_officer, [records["tower_b"]])
    assert_visible_set(Parcel, w.dept_officer, [], action=CHANGE)
    # another department reaches only what it reports itself
    assert_visible_set(Parcel, desk.member, [records["finance_parcel"]])


def test_without_a_lead_unit_the_bureau_sees_only_its_own_carriers(world):
    lone = parcel(world.officer_a, world.street_a, name="甲地块")
    assert_visible_set(Parcel, world.dept_officer, [])
    assert_visible_set(Parcel, world.admin, [lone])


def test_a_street_cannot_read_another_streets_report(desk, records):
    from govdesk.core.errors import NotInReach
    w = desk.world
    services.carrier_report_submit(actor=w.officer_b, unit=w.street_b, month=date(2026, 11, 1))
    with pytest.raises(NotInReach):
        queries.carrier_unit(w.officer_a, w.street_b.pk)
    assert queries.report_of(w.officer_a, w.street_b, date(2026, 11, 1)) is None
    assert queries.report_of(w.dept_officer, w.street_b, date(2026, 11, 1)) is not None


def test_a_squad_member_reads_their_squad_and_assesses_its_firms(desk, records):
    from govdesk.invest.models import Dimension, Squad
    assert_visible_set(Squad, desk.member, [desk.yrd])
    assert_visible_set(Squad, desk.member, [], action=CHANGE)
    assert_visible_set(Squad, desk.world.dept_officer, [desk.yrd, desk.prd, desk.bohai])
    assert_visible_set(Squad, desk.world.officer_a, [])
    dim = Dimension.objects.first()
    services.assessment_record(actor=desk.member, firm=records["yrd"], met_on=date(2026, 11, 20),
                               conclusion="pursue", priority=1, squad=desk.yrd, scores={dim.pk: (80, "走访所得")})
    assert_write_refused(lambda: services.squad_member_add(actor=desk.member, squad=desk.yrd,
                                                           user=desk.world.dept_officer), models=[])


def test_squad_meetings_are_kept_by_the_squad_and_read_by_the_bureau(desk, records):
    from govdesk.invest.models import SquadMeeting
    mine = services.squad_meeting_record(actor=desk.member, squad=desk.yrd, held_on=date(2026, 11, 2),
                                         minutes="复盘 10 月拜访", decisions="11 月赴苏州拜访 3 家企业")
    theirs = services.squad_meeting_record(actor=desk.world.dept_officer, squad=desk.prd, held_on=date(2026, 11, 3),
                                           minutes="复盘 10 月接待")
    assert_visible_set(SquadMeeting, desk.member, [mine])
    assert_visible_set(SquadMeeting, desk.world.supervisor, [mine, theirs])
    assert_write_refused(lambda: services.squad_meeting_record(actor=desk.world.supervisor, squad=desk.yrd,
                                                               held_on=date(2026, 11, 4), minutes="x"),
                         models=[SquadMeeting])
    assert_write_refused(lambda: services.squad_meeting_record(actor=desk.member, squad=desk.prd,
                                                               held_on=date(2026, 11, 4), minutes="x"),
                         models=[SquadMeeting])
