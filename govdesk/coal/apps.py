from django.apps import AppConfig


class CoalConfig(AppConfig):
    name = "govdesk.coal"
    label = "coal"
    verbose_name = "散煤治理"

    def ready(self):
        from govdesk.core.reach import Role
        from govdesk.core.registry import NavItem, add_demo, add_nav, add_overview

        from .demo import seed
        from .queries import overview_card

        # The office's officers are department officers; others without coal reach see an empty page.
        add_nav(NavItem("散煤治理", "coal:dashboard", frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER,
                                                                 Role.STREET_OFFICER, Role.SUPERVISOR})))
        add_overview(overview_card)
        add_demo(seed)
