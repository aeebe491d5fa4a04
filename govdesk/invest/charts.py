"""ECharts options built from the figures of ``queries.dashboard`` (data only, no scripts)."""

from __future__ import annotations

from django.utils import timezone

from .models import Activity, Conclusion, Office, Project


def _title(text: str) -> dict:
    return {"text": text, "left": "center", "textStyle": {"fontSize": 14}}


def dashboard(f: dict) -> dict:
    months = sorted({row["month"] for row in f["activities"]})
    series = {}
    for row in f["activities"]:
        key = (row["squad__name"] or "未分配", row["kind"])
        series.setdefault(key, {})[row["month"]] = row["n"]
    activity_series = [
        {"name": f"{squad}·{Activity.Kind(kind).label}", "type": "bar", "stack": squad,
         "data": [counts.get(m, 0) for m in months]}
        for (squad, kind), counts in sorted(series.items())
    ]
    pipeline = [s for s in f["stages"] if s["stage"] != Project.Stage.LOST]
    assessed_months = sorted({row["month"] for row in f.get("assessed_by_squad", [])})
    assessed = {}
    for row in f.get("assessed_by_squad", []):
        assessed.setdefault(row["squad__name"], {})[row["month"]] = row["n"]
    return {
        "assessed": {
            "title": _title("各小分队每月研判企业数"),
            "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0, "type": "scroll"},
            "grid": {"bottom": 60},
            "xAxis": {"type": "category", "data": [f"{m:%Y-%m}" for m in assessed_months]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [{"name": squad, "type": "bar", "data": [counts.get(m, 0) for m in assessed_months]}
                       for squad, counts in sorted(assessed.items())],
        },
        "funnel": {
            "title": _title("项目推进漏斗（个 / 计划投资万元）"),
            "tooltip": {"trigger": "item", "formatter": "{b}：{c} 个"},
            "series": [{"type": "funnel", "sort": "none", "left": "10%", "width": "80%",
                        "label": {"formatter": "{b} {c}"},
                        "data": [{"name": f"{s['label']}（{s['planned']:.0f} 万元）", "value": s["n"]}
                                 for s in pipeline]}],
        },
        "activities": {
            "title": _title("各小分队每月外出拜访与来访接待"),
            "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0, "type": "scroll"},
            "grid": {"bottom": 60},
            "xAxis": {"type": "category", "data": [f"{m:%Y-%m}" for m in months]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": activity_series,
        },
        "landed": {
            "title": _title("落地项目投资（按产业，万元）"),
            "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0},
            "xAxis": {"type": "category", "data": [r["industry__group"] for r in f["landed"]],
                      "axisLabel": {"interval": 0, "rotate": 20}},
            "yAxis": {"type": "value"},
            "series": [{"name": "计划投资", "type": "bar", "data": [float(r["planned"] or 0) for r in f["landed"]]},
                       {"name": "实际到位", "type": "bar", "data": [float(r["paid"] or 0) for r in f["landed"]]}],
        },
        "groups": {
            "title": _title("企业库产业构成（“4+1”与新兴产业）"),
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"],
                        "data": [{"name": r["industry__group"], "value": r["n"]} for r in f["by_group"]]}],
        },
        "conclusions": {
            "title": _title("研判结论"),
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": "60%",
                        "data": [{"name": Conclusion(k).label, "value": v} for k, v in f["conclusions"].items()]}],
        },
    }


def overview_card(user):
    """The district home page's card: nothing when the user reaches no investment records."""
    from . import queries
    from .models import Firm, Parcel

    if not (Firm.objects.restrict(user).exists() or Parcel.objects.restrict(user).exists()):
        return None
    f = queries.dashboard(user, timezone.localdate())
    pipeline = [s for s in f["stages"] if s["stage"] != Project.Stage.LOST]
    office = Office.current()
    return {
        "title": "招商引资",
        "url": "/invest/",
        "figures": [("企业库", f["firms"]), ("已研判", f["assessed"]),
                    ("在谈及推进项目", sum(s["n"] for s in pipeline if s["stage"] != Project.Stage.PRODUCTION)),
                    (f"停滞超 {office.stall_amber_days} 天", f["stalled"]),
                    ("未办结诉求", f["appeals_open"]), ("逾期诉求", f["appeals_overdue"])],
        "chart": dashboard(f)["funnel"] if f["firms"] else None,
    }
