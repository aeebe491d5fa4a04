from django.apps import AppConfig


class VeteransConfig(AppConfig):
    name = "govdesk.veterans"
    label = "veterans"
    verbose_name = "退役军人信息采集"
