from django.apps import AppConfig


class InvestConfig(AppConfig):
    name = "govdesk.invest"
    label = "invest"
    verbose_name = "招商引资"
