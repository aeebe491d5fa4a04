"""Table schemas of investment promotion, for the core import/export engine (``core/tables``),
which is being written; nothing is declared yet. The tables this module will declare:

- ``invest.firms`` — the enterprise library: 企业名称, 统一社会信用代码, 产业, 总部所在区域, 所在城市,
  榜单 (tier:year list), 推荐企业, 联系人, 联系电话; natural key: credit code, else the normalised name
  (``services.name_key``); rows go through ``services.firm_create_many``, which refuses duplicates
  against the library and within the sheet.
- ``invest.projects`` — the pipeline ledger (项目名称, 投资企业, 产业, 阶段, 计划投资/实际到位 万元, 责任工作组, 责任领导).
- ``invest.parcels`` / ``invest.buildings`` — a street's or department's own monthly carrier sheet, filling in
  the monthly carrier report (``services.carrier_report_submit``).
- ``invest.activities`` and ``invest.appeals`` — export only.
"""
