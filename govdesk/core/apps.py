from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "govdesk.core"
    label = "core"
    verbose_name = "平台核心"

    def ready(self):
        from .reach import Role
        from .registry import NavItem, add_nav

        admin = frozenset({Role.DISTRICT_ADMIN})
        oversight = frozenset({Role.DISTRICT_ADMIN, Role.SUPERVISOR})
        add_nav(NavItem("组织机构", "core:units", group="platform"))
        add_nav(NavItem("用户", "core:users", oversight, group="platform"))
        add_nav(NavItem("审计日志", "core:audit", oversight, group="platform"))
        add_nav(NavItem("定期上报", "core:reports", frozenset({Role.DISTRICT_ADMIN, Role.DEPARTMENT_OFFICER,
                                                              Role.STREET_OFFICER, Role.SUPERVISOR}), group="platform"))
        add_nav(NavItem("消息推送", "core:webhooks", admin | {Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER},
                        group="platform"))
        add_nav(NavItem("表格导入导出", "core:tables", admin | {Role.DEPARTMENT_OFFICER, Role.STREET_OFFICER},
                        group="platform"))
        add_nav(NavItem("API 令牌", "core:tokens", group="platform"))
