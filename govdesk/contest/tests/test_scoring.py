from dataclasses import dataclass
from decimal import Decimal as D

from govdesk.contest import scoring


@dataclass
class Item:
    pk: int
    title: str
    max_points: D
    step: D = D("1")
    critical: bool = False
    effect: str = ""
    cap_points: D | None = None


ITEMS = [Item(1, "准备", D("10")), Item(2, "操作", D("60")),
         Item(3, "无菌原则", D("10"), critical=True, effect="cap", cap_points=D("60")),
         Item(4, "核对", D("5"), critical=True, effect="zero"), Item(5, "答辩", D("15"))]
FULL = {1: D("9.5"), 2: D("55"), 3: D("10"), 4: D("5"), 5: D("13")}   # 92.5


def sheet(failed=(), seconds=600, points=FULL):
    return scoring.score_sheet(items=ITEMS, points=points, failed=set(failed), seconds_used=seconds,
                               limit_seconds=600, per_minute=D("2"))


def test_a_sheet_within_time_is_the_sum_of_its_items():
    result = sheet()
    assert (result.raw, result.overtime_deduction, result.total) == (D("92.50"), D("0.00"), D("92.50"))


def test_overtime_costs_every_started_minute():
    assert sheet(seconds=601).overtime_minutes == 1
    assert sheet(seconds=660).total == D("90.50")
    result = sheet(seconds=661)
    assert (result.overtime_minutes, result.overtime_deduction, result.total) == (2, D("4.00"), D("88.50"))


def test_a_failed_critical_item_caps_or_zeroes_the_total():
    assert sheet(failed=[3]).total == D("60.00")
    assert sheet(failed=[3]).critical_failed == ["无菌原则"]
    assert sheet(failed=[4]).total == D("0.00")
    assert sheet(failed=[3, 4]).total == D("0.00")


def test_the_cap_applies_after_the_overtime_deduction():
    # 92.5 - 20 (10 minutes over) = 72.5, capped to 60; a total already under the cap stays
    assert sheet(failed=[3], seconds=1200).total == D("60.00")
    low = {**FULL, 2: D("30")}  # 67.5 - 10 = 57.5 < 60
    assert sheet(failed=[3], seconds=900, points=low).total == D("57.50")


def test_points_must_be_within_max_and_in_steps():
    item = Item(9, "准备", D("10"), step=D("0.5"))
    assert scoring.check_points(item, D("9.5")) == ""
    assert scoring.check_points(item, D("0")) == ""
    assert "步长" in scoring.check_points(item, D("9.3"))
    assert "0 到 10" in scoring.check_points(item, D("10.5"))
    assert scoring.check_points(item, None) == "请评分"


def test_trimmed_mean_drops_extremes_only_from_five_sheets():
    four = scoring.practical_score("trimmed", [D("80"), D("90"), D("70"), D("100")])
    assert four.score == D("85.00") and four.dropped == [] and "不足 5 份" in four.note
    five = scoring.practical_score("trimmed", [D("80"), D("90"), D("70"), D("100"), D("60")])
    assert five.score == D("80.00")
    assert five.dropped == [D("100"), D("60")] and five.used == [D("70"), D("80"), D("90")]


def test_mean_and_median_are_exact_to_the_cent():
    assert scoring.practical_score("mean", [D("85"), D("86"), D("86")]).score == D("85.67")
    assert scoring.practical_score("median", [D("80"), D("90"), D("70"), D("100")]).score == D("85.00")
    assert scoring.practical_score("median", [D("80.5"), D("90"), D("70")]).score == D("80.50")
    assert scoring.practical_score("mean", []).score is None


def test_final_score_weights_written_and_practical_half_up():
    assert scoring.final_score(D("88"), D("85.67"), D("0.50")) == D("86.84")
    assert scoring.final_score(D("88"), D("85.67"), D("0.30")) == D("86.37")


def row(name, final, practical, seconds, written):
    return {"name": name, "final": D(final), "practical": D(practical), "seconds_used": seconds,
            "written": D(written)}


def test_ranking_breaks_ties_by_practical_then_time_then_written_else_shares():
    rows = scoring.assign_ranks([
        row("甲", "86", "84", 500, "88"),
        row("乙", "86", "86", 560, "86"),    # same final, better practical
        row("丙", "86", "84", 480, "88"),    # same final and practical, less time
        row("丁", "86", "84", 500, "90"),    # same as 甲 but better written
        row("戊", "86", "84", 500, "88"),    # identical to 甲: shares the rank
        row("己", "90", "80", 600, "100"),
    ])
    assert [(r["name"], r["rank"]) for r in rows] == [
        ("己", 1), ("乙", 2), ("丙", 3), ("丁", 4), ("甲", 5), ("戊", 5)]
    assert [r["name"] for r in rows if r["winner"]] == ["己"]


def test_a_shared_first_place_marks_every_one_of_them():
    rows = scoring.assign_ranks([row("甲", "86", "84", 500, "88"), row("乙", "86", "84", 500, "88")])
    assert [(r["rank"], r["winner"]) for r in rows] == [(1, True), (1, True)]


def written(*scores):
    return [{"id": i, "score": D(s) if s is not None else None, "part": D(p) if p is not None else None,
             "minutes": m} for i, (s, p, m) in enumerate(scores, start=1)]


def test_advancement_without_ties_takes_the_top_three():
    result = scoring.advancement(written(("90", None, None), ("85", None, None), ("80", None, None),
                                         ("70", None, None), (None, None, None)), 3, "all")
    assert result.advancing == [1, 2, 3] and result.staying == [4] and result.absent == [5]
    assert result.tied == []


def test_all_tied_at_the_cut_off_advance_under_the_all_rule():
    result = scoring.advancement(written(("90", None, None), ("85", None, None), ("80", None, None),
                                         ("80", None, None), ("70", None, None)), 3, "all")
    assert sorted(result.advancing) == [1, 2, 3, 4] and result.tied == [3, 4] and result.staying == [5]
    assert "全部晋级" in result.note


def test_ties_at_the_cut_off_are_broken_by_part_score_then_time():
    by_part = scoring.advancement(written(("90", "40", 50), ("80", "40", 50), ("80", "45", 70),
                                          ("80", "30", 40)), 2, "break")
    assert by_part.advancing == [1, 3] and sorted(by_part.staying) == [2, 4]
    by_time = scoring.advancement(written(("90", "40", 50), ("80", "40", 55), ("80", "40", 48)), 2, "break")
    assert by_time.advancing == [1, 3] and by_time.staying == [2]


def test_ties_that_no_declared_criterion_separates_all_advance():
    result = scoring.advancement(written(("90", "40", 50), ("80", "40", 50), ("80", "40", 50),
                                         ("60", "40", 50)), 2, "break")
    assert sorted(result.advancing) == [1, 2, 3] and result.staying == [4]
    assert "并列晋级" in result.note


def test_the_draw_is_reproducible_from_its_seed():
    ids = [11, 5, 8, 2, 17, 3]
    first = scoring.draw_order(ids, 20260510)
    assert first == scoring.draw_order(list(reversed(ids)), 20260510)
    assert sorted(first) == sorted(ids)
    assert any(scoring.draw_order(ids, seed) != first for seed in range(1, 6))
