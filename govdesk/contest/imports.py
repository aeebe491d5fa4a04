"""Table schemas for the competition, to be declared on the core tables engine
(``govdesk/core/tables/``) once it lands — not built in this pass:

- ``contest.written_scores``: the exam sheet of one event — 选手编号 (or 姓名 + 所在机构),
  笔试成绩, 专业题得分, 答题用时（分钟）; natural key (event, contestant code); each row goes
  through ``services.written_scores_record`` so it is validated and audited like the form.
- ``contest.contestants``: the entry list — 姓名, 所在机构 (an institution in the org tree),
  参赛项目; rows go through ``services.contestant_add``.
- ``contest.results`` (export): the published ranking of an event with the working.
- ``contest.audit`` (export): the competition's full audit trail for the supervisors.
"""
