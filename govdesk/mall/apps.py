from django.apps import AppConfig


class MallConfig(AppConfig):
    name = "govdesk.mall"
    label = "mall"
    verbose_name = "政府采购网上商城"
