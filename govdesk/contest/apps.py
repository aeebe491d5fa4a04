from django.apps import AppConfig


class ContestConfig(AppConfig):
    name = "govdesk.contest"
    label = "contest"
    verbose_name = "妇幼健康技能竞赛"
