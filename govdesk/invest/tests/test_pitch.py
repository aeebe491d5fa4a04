"""The pitch sheet (项目包装) as a PDF: real fpdf2 output read back with pypdf, reach, and the
fall-back to the printable page when the server has no Chinese font."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from govdesk.conftest import skip_or_fail
from govdesk.core.testing import assert_status_matrix
from govdesk.invest import services, sheets

from .test_drawings import PDF
from .test_services import parcel

pytestmark = pytest.mark.django_db


@pytest.fixture
def cjk_font():
    if sheets.font() is None:
        skip_or_fail("no CJK font installed (apt-get install fonts-noto-cjk)")


def png(width=400, height=240) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def read(response) -> tuple[str, PdfReader]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    # fpdf2 embeds the CFF font's 2-byte encoding as a CMap stream, which pypdf reads as 1-byte codes:
    # each character comes out after a NUL. Viewers read it right; the test drops the NULs and spaces.
    return re.sub(r"[\s\x00]+", "", text), reader


def test_a_parcels_pitch_sheet_downloads_as_a_pdf_with_its_chinese_text_and_drawing(desk, upload, client_for,
                                                                                      cjk_font):
    w = desk.world
    services.office_configure(actor=w.admin, lead_unit=w.department, advantages="郑州国家中心城市核心区，交通便利")
    a3 = parcel(w.officer_a, w.street_a)
    services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[
        upload("总平面图.png", png(), "image/png"), upload("控规图则.pdf", PDF)])
    response = client_for(w.officer_a).get(reverse("invest:pitch_pdf", args=["parcel", a3.pk]) + "?download=1")
    assert response["Content-Disposition"].startswith("attachment")
    text, reader = read(response)
    for expected in ("西区A-3地块", "招商地块推介", "区位优势", "郑州国家中心城市核心区", "42.50亩", "甲街道",
                     "规划图纸（PDF，另附）：控规图则.pdf", "总平面图.png"):
        assert expected in text, expected
    assert sum(len(page.images) for page in reader.pages) == 1  # the PNG is on the sheet, the PDF is named
    assert reader.metadata.title == "西区 A-3 地块"


def test_a_projects_pitch_sheet_names_its_firms_and_carries_the_matching_parcels_drawings(desk, upload,
                                                                                        client_for, cjk_font):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[upload("总平面图.png", png(300, 900), "image/png")])
    project = desk.project("远景研发中心", [desk.firm("郑州远景科技有限公司")], need="parcel", need_area="20",
                           need_use="industrial")
    response = client_for(w.dept_officer).get(reverse("invest:pitch_pdf", args=["project", project.pk]))
    assert response["Content-Disposition"].startswith("inline")
    text, reader = read(response)
    for expected in ("远景研发中心", "郑州远景科技有限公司", "1000.00万元", "可供载体", "西区A-3地块：42.50亩"):
        assert expected in text, expected
    assert sum(len(page.images) for page in reader.pages) == 1


def test_a_broken_image_is_named_on_the_sheet_and_does_not_break_it(desk, upload, client_for, cjk_font):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[
        upload("坏图.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png")])
    text, reader = read(client_for(w.officer_a).get(reverse("invest:pitch_pdf", args=["parcel", a3.pk])))
    assert "规划图纸（无法显示，请在系统中查看）：坏图.png" in text
    assert sum(len(page.images) for page in reader.pages) == 0


def test_the_pdf_answers_404_outside_reach(desk, client_for):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    tower = services.building_save(actor=w.officer_b, unit=w.street_b, name="乙大厦", address="乙路 1 号",
                                   total_area="1000", vacant_area="100", rent="40", owner="乙公司")
    project = desk.project("远景研发中心", [desk.firm("郑州远景科技有限公司")])

    def url(kind, pk):
        return reverse("invest:pitch_pdf", args=[kind, pk])

    assert_status_matrix(client_for, [
        (w.officer_b, url("parcel", a3.pk), 404), (w.officer_a, url("building", tower.pk), 404),
        (w.officer_a, url("project", project.pk), 404), (w.outsider, url("parcel", a3.pk), 404),
        (desk.member, url("project", project.pk), 404), (w.dept_officer, url("firm", project.pk), 404),
        (w.dept_officer, url("parcel", 99999), 404),
    ])


def test_every_kind_renders_for_those_who_reach_it(desk, client_for, cjk_font):
    w = desk.world
    services.office_configure(actor=w.admin, lead_unit=w.department)
    tower = services.building_save(actor=w.officer_b, unit=w.street_b, name="乙大厦", address="乙路 1 号",
                                   total_area="1000", vacant_area="100", rent="40", owner="乙公司",
                                   main_tenants="某银行、某律所")
    for user in (w.officer_b, w.dept_officer, w.supervisor):
        text, _reader = read(client_for(user).get(reverse("invest:pitch_pdf", args=["building", tower.pk])))
        assert "乙大厦" in text and "可租面积" in text and "某银行、某律所" in text, user


def test_without_a_chinese_font_the_printable_page_is_offered_with_a_message(desk, client_for, settings, tmp_path):
    settings.INVEST_PDF_FONTS = [str(tmp_path / "missing.ttc")]
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    client = client_for(w.officer_a)
    response = client.get(reverse("invest:pitch_pdf", args=["parcel", a3.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("invest:pitch", args=["parcel", a3.pk])
    page = client.get(response["Location"]).content.decode()
    assert "服务器未安装中文字体" in page and "下载 PDF" not in page and "西区 A-3 地块" in page


def test_a_font_installed_after_a_failed_lookup_is_found_without_a_restart(settings, tmp_path):
    installed = sheets.font()  # the built-in candidates
    if installed is None:
        skip_or_fail("no CJK font installed (apt-get install fonts-noto-cjk)")
    later = tmp_path / "installed-later.ttc"
    settings.INVEST_PDF_FONTS = [str(later)]
    assert sheets.font() is None
    later.symlink_to(installed[0])
    assert sheets.font() == (str(later), installed[1])
    later.unlink()
    assert sheets.font() is None  # a font removed since is not served from memory
    settings.INVEST_PDF_FONTS = []
    assert sheets.font() == installed  # an empty setting means the built-in list
