import pytest

from govdesk.contest import services
from govdesk.contest.models import Competition, Correction, Entry, Event, Judge, ResultRow, Sheet
from govdesk.contest.queries import board, organiser_units, overview_card, published_results
from govdesk.core.reach import CHANGE
from govdesk.core.testing import assert_visible_set

from .test_services import score_everything, submit

pytestmark = pytest.mark.django_db


def publish(contest):
    services.round_close(actor=contest.organiser, event=contest.event)
    services.results_sign(actor=contest.users[2], event=contest.event)
    services.results_sign(actor=contest.world.supervisor, event=contest.event)
    return services.results_publish(actor=contest.organiser, event=contest.event)


def test_competitions_are_seen_by_their_organiser_and_those_above(contest):
    world = contest.world
    for person in (contest.organiser, world.admin, world.supervisor):
        assert_visible_set(Competition, person, [contest.competition])
    for person in (world.officer_a, world.dept_officer, world.outsider, contest.users[0], contest.hosp_a_officer):
        assert_visible_set(Competition, person, [])
    assert_visible_set(Competition, world.supervisor, [], action=CHANGE)
    assert_visible_set(Competition, contest.organiser, [contest.competition], action=CHANGE)


def test_set_up_records_follow_the_competition(contest):
    entries = Entry.objects.filter(event=contest.event)
    assert_visible_set(Entry, contest.organiser, entries)
    assert_visible_set(Entry, contest.users[0], [])
    assert_visible_set(Judge, contest.hosp_a_officer, [])
    assert_visible_set(Event, contest.users[0], [])


def test_a_judge_sees_only_their_own_sheets_until_the_round_closes(contest):
    contest.advance_and_open(chief=2)
    own = Sheet.objects.filter(judge=contest.judges[0])
    assert own.count() == 2
    assert_visible_set(Sheet, contest.users[0], own)
    assert_visible_set(Sheet, contest.users[0], own, action=CHANGE)
    everything = Sheet.objects.filter(event=contest.event)
    assert_visible_set(Sheet, contest.world.supervisor, everything)
    assert_visible_set(Sheet, contest.world.supervisor, [], action=CHANGE)
    assert_visible_set(Sheet, contest.organiser, everything)
    assert_visible_set(Sheet, contest.organiser, [], action=CHANGE)
    assert_visible_set(Sheet, contest.hosp_a_officer, [])
    score_everything(contest)
    services.round_close(actor=contest.organiser, event=contest.event)
    assert_visible_set(Sheet, contest.users[0], everything)
    assert_visible_set(Sheet, contest.users[0], own, action=CHANGE)


def test_the_chief_judge_sees_the_event_and_its_corrections(contest):
    contest.advance_and_open(chief=2)
    assert_visible_set(Event, contest.users[2], [contest.event])
    assert_visible_set(Event, contest.users[2], [], action=CHANGE)
    sheet = submit(contest, 0, 2)
    correction = services.correction_request(actor=contest.users[0], sheet=sheet, points=contest.full_marks(),
                                             seconds_used=500, reason="误录")
    for person in (contest.users[0], contest.users[2], contest.world.supervisor, contest.organiser):
        assert_visible_set(Correction, person, [correction])
    assert_visible_set(Correction, contest.users[1], [])
    assert_visible_set(Correction, contest.world.supervisor, [], action=CHANGE)


def test_an_institution_sees_only_published_results(contest):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    assert_visible_set(ResultRow, contest.hosp_a_officer, [])
    rows = publish(contest)
    # the institution sees the published ranking of the event its contestant entered
    assert_visible_set(ResultRow, contest.hosp_a_officer, rows)
    assert [r.entry.contestant.name for r in published_results(contest.hosp_a_officer)] == ["张敏", "王芳", "李娜"]
    assert_visible_set(ResultRow, contest.world.officer_a, [])
    assert_visible_set(ResultRow, contest.users[0], [])
    assert_visible_set(ResultRow, contest.hosp_a_officer, [], action=CHANGE)
    assert_visible_set(Competition, contest.hosp_a_officer, [])
    assert_visible_set(Sheet, contest.hosp_a_officer, [])


def test_an_institution_that_entered_nobody_sees_nothing(contest):
    from govdesk.core import services as core
    other = core.orgunit_create(actor=contest.world.root, parent=contest.wjw, kind="institution", code="T100-H9",
                                name="第九医院")
    officer = contest.world.person("hosp9", "department_officer", other)
    contest.advance_and_open(chief=2)
    score_everything(contest)
    publish(contest)
    assert_visible_set(ResultRow, officer, [])


def test_organisers_choose_among_their_own_units(contest):
    assert contest.wjw in organiser_units(contest.organiser)
    assert contest.wjw not in organiser_units(contest.world.officer_a)
    assert not organiser_units(contest.world.supervisor).exists()


def test_the_board_shows_progress_and_then_the_published_ranking(contest):
    contest.advance_and_open(chief=2)
    submit(contest, 1, 0)
    live = board(contest.event)
    assert [(e.contestant.code, e.done, e.total) for e in live["entries"]] and not live["published"]
    assert sum(e.done for e in live["entries"]) == 1 and sum(e.total for e in live["entries"]) == 7
    assert all(e.live is None for e in live["entries"])  # the default mode shows progress, not scores
    score_everything_rest(contest)
    publish(contest)
    final = board(Event.objects.get(pk=contest.event.pk))
    assert final["published"] and [r.rank for r in final["results"]] == [1, 2, 3]


def score_everything_rest(contest):
    submit(contest, 2, 0, seconds=661, **{"操作前准备": "9.5", "操作流程": "55", "提问答辩": "18"})
    submit(contest, 0, 1, failed=["无菌原则"])
    submit(contest, 2, 1, **{"操作流程": "50"})
    for judge in (0, 1, 2):
        submit(contest, judge, 2, **{"操作流程": "55"})


def test_the_overview_card_counts_sheets_in_reach(contest):
    contest.advance_and_open()
    submit(contest, 1, 0)
    card = overview_card(contest.organiser)
    assert dict(card["figures"]) == {"项目": 1, "选手": 4, "评分表已交": "1/7", "已公布项目": 0}
    assert card["chart"]["series"][0]["data"] == [1]
    assert overview_card(contest.world.officer_a) is None
