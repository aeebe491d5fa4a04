from django.apps import AppConfig


class ContestConfig(AppConfig):
    name = "govdesk.contest"
    label = "contest"
    verbose_name = "妇幼健康技能竞赛"

    def ready(self):
        from govdesk.core.reach import Role
        from govdesk.core.registry import NavItem, add_demo, add_nav, add_overview

        from .demo import seed
        from .queries import overview_card

        add_nav(NavItem("技能竞赛", "contest:dashboard", frozenset({
            Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER, Role.JUDGE, Role.SUPERVISOR}),
            group="contest"))
        add_overview(overview_card)
        add_demo(seed)
