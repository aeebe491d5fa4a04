from django.apps import AppConfig


class CoalConfig(AppConfig):
    name = "govdesk.coal"
    label = "coal"
    verbose_name = "散煤治理"
