from django.apps import AppConfig


class VeteransConfig(AppConfig):
    name = "govdesk.veterans"
    label = "veterans"
    verbose_name = "退役军人信息采集"

    def ready(self):
        from govdesk.core.registry import NavItem, add_demo, add_nav, add_overview

        from .demo import seed
        from .models import Record
        from .views import overview_card

        add_nav(NavItem("退役军人信息采集", "veterans:dashboard", roles=Record.reach.view))
        add_overview(overview_card)
        add_demo(seed)
