from django.apps import AppConfig


class InvestConfig(AppConfig):
    name = "govdesk.invest"
    label = "invest"
    verbose_name = "招商引资"

    def ready(self):
        from govdesk.core.reach import Role
        from govdesk.core.registry import NavItem, add_demo, add_nav, add_overview

        from .charts import overview_card
        from .demo import seed

        add_nav(NavItem("招商引资", "invest:dashboard", frozenset({
            Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER, Role.SUPERVISOR}), group="invest"))
        add_overview(overview_card)
        add_demo(seed)
