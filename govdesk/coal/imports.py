"""Table schemas of the coal app for the core tables engine (``govdesk/core/tables/``).

Not declared yet: the engine is being written. When it lands, this module declares:

- ``coal.places`` (点位): 街道, 社区, 名称, 类型, 地址, 联系人, 联系电话 — natural key
  (社区, 名称, 地址); rows go through ``services.place_import``.
- ``coal.ledger`` (检查台账, existing ledgers / past inspections): 点位 (by 社区 + 名称 + 地址),
  检查时间, 检查人, 是否发现散煤, 煤炭种类, 数量（公斤）, 来源, 存放地点, 使用人, 宣传教育,
  收缴, 收缴数量, 下达整改, 整改期限, 移交执法, 备注 — rows go through
  ``services.ledger_import`` (no back-dating window; consequences applied in date order).
- courtyards (楼院) are core org units: imported through the core's unit table.

Exports (through the engine's streaming writer): places, the inspection ledger, rectifications,
and a campaign's results per street and per task (the report the city asks for), each from the
scoped queries in ``queries.py``.
"""
