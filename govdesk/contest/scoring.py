"""The competition's arithmetic, pure and exact (Decimal, half-up to 2 places):
a sheet's total, the practical score from the sheets, the final score, the ranking
with its tie-breaks and the advancement cut-off. Services and queries call these;
tests check them with exact numbers."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")


def r2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- one sheet -----------------------------------------------------------------------------

@dataclass
class SheetScore:
    raw: Decimal
    overtime_minutes: int
    overtime_deduction: Decimal
    critical_failed: list[str]
    total: Decimal


def overtime(seconds_used: int | None, limit_seconds: int, per_minute: Decimal) -> tuple[int, Decimal]:
    """Every started minute over the limit costs ``per_minute`` points."""
    over = max(0, (seconds_used or 0) - limit_seconds)
    minutes = math.ceil(over / 60)
    return minutes, r2(per_minute * minutes)


def score_sheet(*, items, points: dict, failed: set, seconds_used: int | None, limit_seconds: int,
                per_minute: Decimal) -> SheetScore:
    """Sum the items, deduct overtime (never below zero), then apply the failed critical
    items: "zero" makes the total zero, "cap" limits it to the item's cap (the lowest cap wins)."""
    raw = sum((Decimal(points[item.pk]) for item in items), ZERO)
    minutes, deduction = overtime(seconds_used, limit_seconds, per_minute)
    total = max(ZERO, raw - deduction)
    failed_titles = []
    for item in items:
        if not (item.critical and item.pk in failed):
            continue
        failed_titles.append(item.title)
        if item.effect == "zero":
            total = ZERO
        elif item.effect == "cap":
            total = min(total, Decimal(item.cap_points))
    return SheetScore(raw=r2(raw), overtime_minutes=minutes, overtime_deduction=deduction,
                      critical_failed=failed_titles, total=r2(total))


def check_points(item, value) -> str:
    """'' when ``value`` is a valid score for ``item`` (0..max in the item's steps), else why not."""
    if value is None:
        return "请评分"
    value = Decimal(value)
    if value < 0 or value > item.max_points:
        return f"应在 0 到 {item.max_points} 之间"
    if (value / item.step) != (value / item.step).to_integral_value():
        return f"应按 {item.step} 分的步长评分"
    return ""


# --- practical score ---------------------------------------------------------------------------

TRIM_MINIMUM = 5


@dataclass
class Practical:
    score: Decimal | None
    method: str
    sheets: list[Decimal]
    used: list[Decimal]
    dropped: list[Decimal] = field(default_factory=list)
    note: str = ""

    def as_working(self) -> dict:
        return {"method": self.method, "sheets": [str(s) for s in self.sheets], "used": [str(s) for s in self.used],
                "dropped": [str(s) for s in self.dropped], "note": self.note,
                "score": str(self.score) if self.score is not None else None}


def practical_score(method: str, totals: list[Decimal]) -> Practical:
    """mean; trimmed (drop one highest and one lowest when there are at least five sheets,
    a plain mean otherwise); median."""
    totals = sorted(Decimal(t) for t in totals)
    if not totals:
        return Practical(score=None, method=method, sheets=[], used=[], note="无已提交的评分表")
    if method == "median":
        return Practical(score=r2(statistics.median(totals)), method=method, sheets=totals, used=totals)
    if method == "trimmed":
        if len(totals) >= TRIM_MINIMUM:
            used = totals[1:-1]
            return Practical(score=r2(sum(used, ZERO) / len(used)), method=method, sheets=totals, used=used,
                             dropped=[totals[-1], totals[0]], note="去掉一个最高分和一个最低分")
        return Practical(score=r2(sum(totals, ZERO) / len(totals)), method=method, sheets=totals, used=totals,
                         note=f"评分表不足 {TRIM_MINIMUM} 份，不去分，直接平均")
    return Practical(score=r2(sum(totals, ZERO) / len(totals)), method=method, sheets=totals, used=totals)


def final_score(written: Decimal, practical: Decimal, written_weight: Decimal) -> Decimal:
    return r2(Decimal(written) * written_weight + Decimal(practical) * (Decimal("1") - written_weight))


def median_seconds(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return int(statistics.median_low(present)) if present else None


# --- ranking -------------------------------------------------------------------------------------

def rank_key(row: dict) -> tuple:
    """Final score, then practical score, then less time used, then written score."""
    seconds = row["seconds_used"] if row["seconds_used"] is not None else 10**9
    return (-row["final"], -row["practical"], seconds, -row["written"])


def assign_ranks(rows: list[dict]) -> list[dict]:
    """Sort by the tie-breaks and number them; rows equal on every tie-break share a rank
    (1, 1, 3). Every row ranked first is marked the winner."""
    rows = sorted(rows, key=rank_key)
    previous = None
    for position, row in enumerate(rows, start=1):
        key = rank_key(row)
        row["rank"] = previous["rank"] if previous is not None and rank_key(previous) == key else position
        row["winner"] = row["rank"] == 1
        previous = row
    return rows


# --- advancement -----------------------------------------------------------------------------------

@dataclass
class Advancement:
    advancing: list = field(default_factory=list)   # entry ids
    staying: list = field(default_factory=list)
    absent: list = field(default_factory=list)      # no written score
    tied: list = field(default_factory=list)        # tied at the cut-off
    note: str = ""


def _break_key(row) -> tuple:
    part = row["part"] if row["part"] is not None else Decimal("-1")
    minutes = row["minutes"] if row["minutes"] is not None else 10**6
    return (-part, minutes)


def advancement(rows: list[dict], count: int, rule: str) -> Advancement:
    """rows: {"id", "score", "part", "minutes"}. The top ``count`` by written score advance;
    ties at the cut-off follow ``rule``: "all" lets every tied entry through, "break" orders
    the tied ones by the specialised part (higher first) then time used (less first), and
    any still equal at the boundary all advance."""
    result = Advancement(absent=[r["id"] for r in rows if r["score"] is None])
    scored = sorted((r for r in rows if r["score"] is not None), key=lambda r: -r["score"])
    if len(scored) <= count:
        result.advancing = [r["id"] for r in scored]
        return result
    cut = scored[count - 1]["score"]
    above = [r for r in scored if r["score"] > cut]
    at_cut = [r for r in scored if r["score"] == cut]
    below = [r for r in scored if r["score"] < cut]
    slots = count - len(above)
    if len(at_cut) == slots:
        chosen, left = at_cut, []
    else:
        result.tied = [r["id"] for r in at_cut]
        if rule == "all":
            chosen, left = at_cut, []
            result.note = f"{len(at_cut)} 人以 {cut} 分并列晋级线，按规则全部晋级"
        else:
            ordered = sorted(at_cut, key=_break_key)
            boundary = _break_key(ordered[slots - 1])
            chosen = [r for r in ordered if _break_key(r) <= boundary]
            left = [r for r in ordered if _break_key(r) > boundary]
            result.note = f"{len(at_cut)} 人以 {cut} 分并列晋级线，按专业题得分、答题用时决出"
            if len(chosen) > slots:
                result.note += "；仍无法区分者并列晋级"
    result.advancing = [r["id"] for r in above + chosen]
    result.staying = [r["id"] for r in left + below]
    return result


# --- draw ----------------------------------------------------------------------------------------

def draw_order(entry_ids: list[int], seed: int) -> list[int]:
    """The practical order for a seed: the same ids and seed always give the same order."""
    ids = sorted(entry_ids)
    random.Random(seed).shuffle(ids)
    return ids
