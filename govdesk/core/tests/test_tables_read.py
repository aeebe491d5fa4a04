"""Reading the files people really upload: every ugly form, with the exact outcome."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from govdesk.core.tables.read import TableFileError, read_table
from govdesk.core.tables.run import check_rows, template_workbook
from govdesk.core.tables.schema import Column, TableSchema, register
from govdesk.core.tables.testing import csv_bytes, xls_bytes, xlsx_bytes

ID = "11010519491231002X"  # the GB 11643 standard's own example
ID_2 = "410102199003071230"
PHONE = "13812345678"


def _never(actor, rows, dry_run):
    raise AssertionError("reading tests do not write")


PEOPLE = register(TableSchema(
    kind="test_read_people",
    title="测试人员",
    columns=(
        Column("身份证号", "id_number", aliases=("公民身份号码",), type="id_number", required=True),
        Column("姓名", "name", required=True, max_length=10),
        Column("手机号", "phone", aliases=("联系电话",), type="phone"),
        Column("出生日期", "born", type=date),
        Column("金额（元）", "amount", aliases=("金额",), type=Decimal),
        Column("人数", "count", type=int),
        Column("是否党员", "member", type=bool),
        Column("性别", "sex", type={"男": "m", "女": "f"}),
    ),
    natural_key=("id_number",),
    apply_batch=_never,
))
HEADER = ["身份证号", "姓名", "手机号", "出生日期", "金额（元）", "人数", "是否党员", "性别"]


def check(data: bytes, filename: str = "people.xlsx"):
    """(table, {row: values} of valid rows, {row: [(column, message)]} of errors)."""
    table = read_table(PEOPLE, data, filename)
    valid, errors = check_rows(PEOPLE, None, table)
    by_row: dict[int, list] = {}
    for error in errors.items:
        by_row.setdefault(error["row"], []).append((error["column"], error["message"]))
    return table, {row.row: row.values for row in valid}, by_row


def test_it_finds_the_header_below_a_title_and_a_merged_group_header():
    data = xlsx_bytes([
        ["2024年社区人员花名册"],
        ["填报单位：甲街道", None, None, None, "填报日期：2024-05-01"],
        ["序号", "基本信息", None, "联系方式", "出生日期"],
        [None, "身份证号", "姓名", "手机号", None],
        [1, ID, "张三", PHONE, "1990-03-07"],
    ], merges=["A1:H1", "B3:C3", "A3:A4", "E3:E4"])
    table, valid, errors = check(data)
    assert table.header_row == 4
    assert table.columns == {"id_number": 1, "name": 2, "phone": 3, "born": 4}
    assert table.ignored == ["序号"]
    assert errors == {}
    assert valid == {5: {"id_number": ID, "name": "张三", "phone": PHONE, "born": date(1990, 3, 7),
                         "amount": None, "count": None, "member": None, "sex": None}}


def test_it_skips_blank_rows_and_pre_numbered_rows_and_keeps_excel_row_numbers():
    data = xlsx_bytes([
        ["人员名单"],
        ["序号", "身份证号", "姓名"],
        [1, ID, "张三"],
        [],
        [2, None, "   "],
        [3, ID_2, "李四"],
        [4],
        [5],
    ])
    table, valid, errors = check(data)
    assert [number for number, _cells in table.rows] == [3, 6]
    assert sorted(valid) == [3, 6]
    assert errors == {}


def test_it_normalises_full_width_digits_and_trailing_spaces():
    full_width_id = "１１０１０５１９４９１２３１００２ｘ"
    data = xlsx_bytes([HEADER, [full_width_id, "  王　五\u3000 ", "１３８１２３４５６７８ ", "２０１８年１１月５日",
                                 "１，２３４．５", "１２", "是", " 女 "]])
    _table, valid, errors = check(data)
    assert errors == {}
    assert valid[2] == {"id_number": ID, "name": "王 五", "phone": PHONE, "born": date(2018, 11, 5),
                        "amount": Decimal("1234.50"), "count": 12, "member": True, "sex": "f"}


def test_it_reads_numbers_stored_as_text_and_phones_stored_as_numbers():
    data = xlsx_bytes([HEADER, [ID, "张三", 13812345678, None, "88", "7", None, None],
                       [ID_2, "李四", "13812345678", None, 88.0, 7.0, None, None]], text_columns=[1])
    _table, valid, errors = check(data)
    assert errors == {}
    assert valid[2]["phone"] == valid[3]["phone"] == PHONE
    assert valid[2]["amount"] == valid[3]["amount"] == Decimal("88.00")
    assert valid[2]["count"] == valid[3]["count"] == 7


def test_it_rejects_an_id_number_that_excel_turned_into_a_float():
    data = xlsx_bytes([HEADER, [410102199003071237, "张三"], ["4.10102E+17", "李四"]])
    _table, valid, errors = check(data)
    assert valid == {}
    assert errors[2] == [("身份证号", "身份证号被 Excel 转成了数字（科学计数法），末几位已丢失；请将该列设为文本格式后重新填写")]
    assert errors[3] == [("身份证号",
                          "身份证号被 Excel 转成了科学计数法（如 4.10102E+17），末几位已丢失；请将该列设为文本格式后重新填写")]


@pytest.mark.parametrize("cell", [
    "2018-11-05", "2018/11/5", "2018.11.5", "2018年11月5日", "20181105", "2018-11-05 00:00:00", "2018-11-5T08:30",
    43409, 43409.75, 20181105, date(2018, 11, 5), datetime(2018, 11, 5, 14, 30), " 2018 年 11 月 5 日 ",
])
def test_it_reads_every_date_form(cell):
    _table, valid, errors = check(xlsx_bytes([HEADER, [ID, "张三", None, cell]]))
    assert errors == {}
    assert valid[2]["born"] == date(2018, 11, 5)


@pytest.mark.parametrize(("cell", "shown"), [("2018-13-45", "2018-13-45"), ("2018年2月30日", "2018年2月30日"),
                                             ("去年", "去年"), ("11/05/18", "11/05/18")])
def test_it_explains_a_date_it_cannot_read(cell, shown):
    _table, _valid, errors = check(xlsx_bytes([HEADER, [ID, "张三", None, cell]]))
    assert errors == {2: [("出生日期", f"日期格式无法识别：{shown}")]}


def test_it_accepts_a_lowercase_x_check_digit():
    _table, valid, errors = check(xlsx_bytes([HEADER, [ID.lower(), "张三"]]))
    assert errors == {}
    assert valid[2]["id_number"] == ID


def test_it_reads_money_as_decimal_rounded_to_fen():
    rows = [HEADER, [ID, "a", None, None, 0.1 + 0.2], [ID_2, "b", None, None, "¥1,234.565"],
            ["110105194912310038", "c", None, None, "1.5万"]]
    _table, valid, errors = check(xlsx_bytes(rows))
    assert valid[2]["amount"] == Decimal("0.30")
    assert valid[3]["amount"] == Decimal("1234.57")
    assert isinstance(valid[2]["amount"], Decimal)
    assert errors[4] == [("金额（元）", "数字格式无法识别：1.5万")]


def test_it_explains_every_bad_cell_of_a_row():
    rows = [HEADER, [ID[:-1] + "1", "名字实在是太长了超过十个字", "12345", None, None, 1.5, "也许", "未知"]]
    _table, valid, errors = check(xlsx_bytes(rows))
    assert valid == {}
    assert errors[2] == [
        ("身份证号", "身份证号校验位不正确，请核对"),
        ("姓名", "不能超过 10 个字（现有 13 个字）"),
        ("手机号", "联系电话格式不正确：手机号为 11 位，座机如 0371-67891234"),
        ("人数", "应为整数：1.5"),
        ("是否党员", "请填写“是”或“否”，而不是：也许"),
        ("性别", "只能填写：男、女（填写的是：未知）"),
    ]


def test_it_requires_the_required_cells():
    _table, _valid, errors = check(xlsx_bytes([HEADER, [None, None, PHONE]]))
    assert errors == {2: [("身份证号", "请填写身份证号"), ("姓名", "请填写姓名")]}


def test_it_refuses_duplicates_of_the_natural_key_in_one_file():
    _table, valid, errors = check(xlsx_bytes([HEADER, [ID, "张三"], [ID_2, "李四"], [ID.lower(), "张三丰"]]))
    assert sorted(valid) == [3]
    assert errors == {2: [("身份证号", "身份证号与第 4 行重复，同一文件中每条记录只能出现一次")],
                      4: [("身份证号", "身份证号与第 2 行重复，同一文件中每条记录只能出现一次")]}


def test_it_accepts_aliases_and_required_marks_in_headers():
    data = xlsx_bytes([["*公民身份号码", "姓名（必填）", " 联系电话 ", "金额"], [ID, "张三", PHONE, 5]])
    table, valid, errors = check(data)
    assert set(table.columns) == {"id_number", "name", "phone", "amount"}
    assert errors == {}
    assert valid[2]["amount"] == Decimal("5.00")


# --- csv and xls --------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_it_reads_csv_in_every_encoding_excel_saves(encoding):
    data = csv_bytes([["人员名单"], HEADER, [ID, "张三", PHONE, "2018/11/5", "12.5", "3", "否", "男"]],
                     encoding=encoding)
    table, valid, errors = check(data, "people.csv")
    assert table.header_row == 2
    assert errors == {}
    assert valid[3] == {"id_number": ID, "name": "张三", "phone": PHONE, "born": date(2018, 11, 5),
                        "amount": Decimal("12.50"), "count": 3, "member": False, "sex": "m"}


def test_it_reads_tab_separated_text():
    data = csv_bytes([HEADER, [ID, "张三"]], delimiter="\t")
    _table, valid, errors = check(data, "people.txt")
    assert errors == {}
    assert valid[2]["name"] == "张三"


def test_it_reads_a_legacy_xls():
    pytest.importorskip("xlwt", reason="writing .xls needs xlwt (a test-only dependency)")
    data = xls_bytes([["人员名单"], HEADER, [ID, "张三", 13812345678.0, date(2018, 11, 5), 12.5, 3, "是", "女"]])
    table, valid, errors = check(data, "people.xls")
    assert table.header_row == 2
    assert errors == {}
    assert valid[3]["phone"] == PHONE
    assert valid[3]["born"] == date(2018, 11, 5)
    assert valid[3]["amount"] == Decimal("12.50")


def test_it_picks_the_data_sheet_when_the_first_sheet_is_notes():
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["请按第二页填写"])
    data_sheet = book.create_sheet("数据")
    data_sheet.append(HEADER)
    data_sheet.append([ID, "张三"])
    buffer = io.BytesIO()
    book.save(buffer)
    table, valid, _errors = check(buffer.getvalue())
    assert table.sheet == "数据"
    assert list(valid) == [2]


# --- files that cannot be used -----------------------------------------------------

def file_error(data: bytes, filename: str = "people.xlsx") -> str:
    with pytest.raises(TableFileError) as caught:
        read_table(PEOPLE, data, filename)
    return caught.value.message


def test_it_names_the_missing_required_columns():
    assert file_error(xlsx_bytes([["姓名", "手机号"], ["张三", PHONE]])) == "缺少必填列：身份证号"


def test_it_says_when_there_is_no_header_at_all():
    message = file_error(xlsx_bytes([["甲", "乙"], [1, 2]]))
    assert message.startswith("没有找到表头：前 15 行中没有「身份证号」「姓名」")


def test_it_refuses_a_column_given_twice():
    message = file_error(xlsx_bytes([["身份证号", "姓名", "手机号", "联系电话"], [ID, "张三", PHONE, PHONE]]))
    assert message == "列「联系电话」出现了不止一次，请删除多余的一列"


@pytest.mark.parametrize(("data", "filename"), [
    (b"\x00\x01\x02garbage\x00" * 20, "people.xlsx"),
    (b"\x00\x01\x02garbage\x00" * 20, "people.csv"),
    (b"PK\x03\x04 not really a zip", "people.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "people.xls"),
])
def test_it_refuses_what_is_not_a_spreadsheet(data, filename):
    assert file_error(data, filename) == "文件不是有效的 Excel 或 CSV 文件"


def test_it_explains_an_html_page_saved_as_xls():
    message = file_error(b"<html><table><tr><td>\xe5\xa7\x93\xe5\x90\x8d</td></tr></table></html>", "people.xls")
    assert "网页" in message


def test_it_refuses_an_empty_file():
    assert file_error(b"") == "文件是空的"


def test_it_refuses_a_file_over_the_upload_limit(settings):
    settings.UPLOAD_MAX_BYTES = 1024
    assert file_error(b"x" * 2048, "people.csv") == "文件超过 0 MB，请拆分后分批导入"


def test_it_refuses_a_zip_bomb_disguised_as_xlsx(settings):
    settings.UPLOAD_MAX_BYTES = 100 * 1024
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (5 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < settings.UPLOAD_MAX_BYTES
    assert file_error(data) == "文件解压后体积异常（疑似压缩炸弹），已拒绝；请另存为普通的 .xlsx 后再导入"


def test_it_refuses_an_undecodable_csv():
    assert file_error("姓名".encode() + b"\xff\xff" * 10, "people.csv").startswith("无法识别 CSV 文件的编码")


# --- the template ---------------------------------------------------------------------

def test_its_template_reads_back_and_guides_the_person_filling_it():
    data = template_workbook(PEOPLE)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["导入数据"]
    assert [c.value for c in sheet[2]] == HEADER
    red = [bool(c.font.color) and str(c.font.color.rgb).endswith("C00000") for c in sheet[2][:3]]
    assert red == [True, True, False]  # the required columns stand out
    assert sheet["A3"].number_format == "@" or sheet.column_dimensions["A"].number_format == "@"
    validations = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert validations == {"G3": '"是,否"', "H3": '"男,女"'}
    assert sheet["A2"].comment.text.startswith("必填。18 位居民身份证号")
    notes = [row[0] for row in book["填写说明"].iter_rows(values_only=True)]
    assert "身份证号" in notes

    for col, value in enumerate([ID, "张三", PHONE, "2018-11-05"], start=1):
        sheet.cell(row=3, column=col, value=value)
    filled = io.BytesIO()
    book.save(filled)
    table, valid, errors = check(filled.getvalue())
    assert table.header_row == 2
    assert errors == {}
    assert valid[3]["born"] == date(2018, 11, 5)


@pytest.mark.parametrize("kind", ["orgunits", "users"])
def test_every_core_template_reads_back_with_all_its_columns(kind):
    from govdesk.core.tables.schema import get

    schema = get(kind)
    table = read_table(schema, template_workbook(kind), f"{kind}.xlsx")
    assert (table.header_row, table.rows) == (2, [])
    assert set(table.columns) == {c.key for c in schema.columns}
