"""Table schemas of the mall, to be declared on the core tables engine (govdesk/core/tables/)
once it lands — not built in this pass:

- ``mall_categories``: 品目编码, 品目名称, 商城品目(是/否), 鼓励品目(是/否), 单次采购限额, 年度累计限额;
  natural key (district, code); rows go through ``services.category_create``.
- ``mall_products``: 品目编码, 商品名称, 品牌, 型号, 计量单位, 规格参数; key (category, brand, model).
- ``mall_offers``: 供应商统一社会信用代码, 商品(品牌+型号), 挂牌价, 库存 → ``services.offer_save``
  (the listing rule applies row by row, blocked rows reported with their reason).
- ``mall_reference_prices``: 品牌, 型号, 参考价, 日期, 来源 → ``services.reference_price_record``.
- ``mall_history_orders``: orders from other malls (单位编码, 供应商, 品目编码, 下单日期, 金额) so that
  ``services.sweep`` supervises them too.

Exports of orders and flags will be declared on the same engine.
"""
