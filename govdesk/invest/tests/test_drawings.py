"""Planning drawings (规划图纸) of land parcels: upload, reach, removal and the pitch sheet."""

import hashlib

import pytest
from django.urls import reverse

from govdesk.core.errors import Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_write_refused
from govdesk.invest import services
from govdesk.invest.models import Drawing

from .test_services import parcel

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
PDF = b"%PDF-1.7\n% zoning plan\n"


def drawing_events():
    return AuditEvent.objects.filter(object_type__icontains="drawing")


def test_a_street_officer_uploads_drawings_to_its_parcel_and_they_are_stored_by_hash(desk, upload, media_root):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    png, pdf = upload("总平面图.png", PNG, "image/png"), upload("控规图则.pdf", PDF)
    drawings = services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[png, pdf])
    assert [(d.original_name, d.content_type, d.is_image) for d in drawings] == [
        ("总平面图.png", "image/png", True), ("控规图则.pdf", "application/pdf", False)]
    sha = hashlib.sha256(PNG).hexdigest()
    assert (media_root / "invest" / sha[:2] / f"{sha}.png").read_bytes() == PNG
    assert drawing_events().filter(action="create").count() == 2


def test_a_renamed_executable_is_refused_and_nothing_is_kept(desk, upload):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    exe = upload("规划图.png", b"MZ\x90\x00\x03\x00\x00\x00 this program", "image/png")
    with pytest.raises(ServiceError, match="规划图.png：只能上传 PDF、JPG 或 PNG"):
        services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[upload("好图.png", PNG, "image/png"), exe])
    assert Drawing.objects.count() == 0 and drawing_events().count() == 0
    with pytest.raises(ServiceError, match="扩展名与文件内容不符"):
        services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[upload("图.jpg", PNG, "image/jpeg")])


def test_another_streets_officer_and_the_supervisor_cannot_add_drawings(desk, upload, client_for):
    w = desk.world
    b1 = parcel(w.officer_b, w.street_b, name="乙地块")
    assert_write_refused(lambda: services.drawing_upload(actor=w.officer_a, parcel=b1, uploads=[
        upload("图.png", PNG, "image/png")]), models=[Drawing], expect=NotInReach)
    assert_write_refused(lambda: services.drawing_upload(actor=w.supervisor, parcel=b1, uploads=[
        upload("图.png", PNG, "image/png")]), models=[Drawing], expect=Forbidden)
    url = reverse("invest:drawing_upload", args=[b1.pk])
    assert client_for(w.officer_a).post(url, {"files": upload("图.png", PNG, "image/png")}).status_code == 404
    response = client_for(w.supervisor).post(url, {"files": upload("图.png", PNG, "image/png")}, follow=True)
    assert "您的角色无权进行此操作" in response.content.decode() and Drawing.objects.count() == 0
    # the supervisor reads the parcel page but is offered neither upload nor removal
    page = client_for(w.supervisor).get(reverse("invest:parcel_edit", args=[b1.pk])).content.decode()
    assert "上传图纸" not in page


def test_the_parcel_page_lists_drawings_serves_them_by_reach_and_removes_one(desk, upload, client_for):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    client = client_for(w.officer_a)
    response = client.post(reverse("invest:drawing_upload", args=[a3.pk]),
                           {"files": [upload("总平面图.png", PNG, "image/png"), upload("控规图则.pdf", PDF)]})
    assert response.status_code == 302
    png, pdf = Drawing.objects.order_by("id")
    page = client.get(reverse("invest:parcel_edit", args=[a3.pk])).content.decode()
    assert "总平面图.png" in page and "控规图则.pdf" in page and 'data-confirm="确定删除图纸「控规图则.pdf」？"' in page
    served = client.get(reverse("invest:drawing", args=[png.pk]))
    assert served["Content-Type"] == "image/png" and b"".join(served.streaming_content) == PNG
    assert client_for(w.officer_b).get(reverse("invest:drawing", args=[png.pk])).status_code == 404
    assert client_for(w.supervisor).post(reverse("invest:drawing_remove", args=[pdf.pk])).status_code == 302
    assert Drawing.objects.count() == 2
    assert client_for(w.officer_b).post(reverse("invest:drawing_remove", args=[pdf.pk])).status_code == 404
    assert client.post(reverse("invest:drawing_remove", args=[pdf.pk])).status_code == 302
    assert list(Drawing.objects.values_list("original_name", flat=True)) == ["总平面图.png"]
    assert drawing_events().filter(action="delete").count() == 1


def test_a_removed_drawing_keeps_a_file_another_drawing_shares(desk, upload, media_root, django_capture_on_commit_callbacks):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    first, second = services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[
        upload("一.png", PNG, "image/png"), upload("二.png", PNG, "image/png")])
    stored = media_root / "invest" / first.stored_name
    with django_capture_on_commit_callbacks(execute=True):
        services.drawing_remove(actor=w.officer_a, drawing=first)
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.drawing_remove(actor=w.officer_a, drawing=second)
    assert not stored.exists()


def test_the_pitch_sheets_of_the_parcel_and_of_a_project_needing_it_show_the_drawings(desk, upload, client_for):
    w = desk.world
    a3 = parcel(w.officer_a, w.street_a)
    png, pdf = services.drawing_upload(actor=w.officer_a, parcel=a3, uploads=[
        upload("总平面图.png", PNG, "image/png"), upload("控规图则.pdf", PDF)])
    project = desk.project("远景研发中心", [desk.firm("郑州远景科技有限公司")], need="parcel", need_area="20",
                           need_use="industrial")
    image = f'<img class="figure-img img-fluid border" src="{reverse("invest:drawing", args=[png.pk])}"'
    pdf_link = f'规划图纸（PDF）：<a href="{reverse("invest:drawing", args=[pdf.pk])}">控规图则.pdf</a>'
    for user, kind, pk in ((w.officer_a, "parcel", a3.pk), (w.dept_officer, "parcel", a3.pk),
                           (w.dept_officer, "project", project.pk)):
        page = client_for(user).get(reverse("invest:pitch", args=[kind, pk])).content.decode()
        assert image in page and pdf_link in page, (user, kind)
        assert f'src="{reverse("invest:drawing", args=[pdf.pk])}"' not in page
