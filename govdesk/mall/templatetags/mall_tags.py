from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def yuan(value) -> str:
    """12345.6 -> "12,345.60" (money with thousands separators, whatever the locale settings)."""
    if value in (None, ""):
        return "—"
    return f"{Decimal(value):,.2f}"
