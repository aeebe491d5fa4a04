from datetime import date, timedelta


def period_start_of(period: str, day: date) -> date:
    """The first day of the week (Monday) or month that contains ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)
