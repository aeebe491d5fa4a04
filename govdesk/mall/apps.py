from django.apps import AppConfig


class MallConfig(AppConfig):
    name = "govdesk.mall"
    label = "mall"
    verbose_name = "政府采购网上商城"

    def ready(self):
        from govdesk.core.reach import Role
        from govdesk.core.registry import NavItem, add_demo, add_nav, add_overview

        from .demo import seed
        from .queries import overview_card

        add_nav(NavItem("网上商城", "mall:dashboard", frozenset({
            Role.PURCHASER, Role.SUPPLIER, Role.DISTRICT_ADMIN, Role.SUPERVISOR, Role.DEPARTMENT_OFFICER,
            Role.STREET_OFFICER}), group="mall"))
        add_overview(overview_card)
        add_demo(seed)
