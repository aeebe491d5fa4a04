from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_start(day: date) -> datetime:
    """The first instant of a local (Asia/Shanghai) day. Filter timestamps with
    ``at__gte=day_start(d)`` rather than ``at__date__gte=d``: the latter casts every row's
    timestamp and cannot use the index on it."""
    return timezone.make_aware(datetime.combine(day, time.min))


def period_start_of(period: str, day: date) -> date:
    """The first day of the week (Monday) or month that contains ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)
