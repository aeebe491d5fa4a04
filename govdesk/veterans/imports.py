"""Table schemas of the veterans campaign, to be declared on the core tables engine
(``govdesk/core/tables/``) once it is finished — nothing is imported here yet.

Planned tables:

- ``veterans_records``: existing records, with the headers people write — 姓名, 性别, 民族, 出生日期,
  公民身份号码/身份证号, 联系电话/手机号, 人员类别, 入伍时间, 退役时间, 服役部队, 军种, 军衔, 退役方式,
  安置方式, 伤残等级, 伤残性质, 残疾军人证号, 所属街道, 社区, 户籍地址, 家庭住址/居住地址, 政治面貌,
  文化程度. Each row goes through ``services.clean_record`` and the duplicate check of
  ``services.record_create`` (natural key: the ID number's blind index).
- ``veterans_expected``: 街道, 应采集人数 → ``services.expected_set``.
- ``veterans_points``: 采集点名称, 所属街道/社区, 地址, 开放时间, 每日接待量, 时段长度 →
  ``services.point_create``.
- exports: the registry (ID and phone masked unless the user may unmask, the export audited)
  and the progress tables of ``queries.progress``.
"""
