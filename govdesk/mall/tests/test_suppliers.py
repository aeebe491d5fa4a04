"""Admission documents as files and the suppliers' sanctions history."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from govdesk.core.errors import ServiceError
from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_write_refused
from govdesk.mall import services
from govdesk.mall.models import Admission, AdmissionDocument, Category, Sanction, SanctionDocument

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def pdf(name="营业执照.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def new_category(mall, code="A0501"):
    return services.category_create(actor=mall.world.admin, district=mall.world.district, code=code, name="打印机")


def test_an_application_keeps_its_documents_as_checked_files(mall, media):
    category = new_category(mall)
    admission = services.admission_apply(actor=mall.seller_x, supplier=mall.supplier_x, category=category,
                                         documents="营业执照、授权书", uploads=[pdf(), pdf("授权书.png", PNG)])
    files = list(admission.files.order_by("pk"))
    assert [(f.original_name, f.content_type, f.size) for f in files] == [
        ("营业执照.pdf", "application/pdf", len(PDF)), ("授权书.png", "image/png", len(PNG))]
    assert files[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert (media / "mall" / files[0].stored_name).read_bytes() == PDF
    assert AuditEvent.objects.filter(object_type="mall.admissiondocument", verb="upload").count() == 2


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("执照.pdf", b"MZ\x90\x00 not a pdf"), "只能上传 PDF、JPG 或 PNG"),
    (SimpleUploadedFile("执照.exe", PDF), "扩展名与文件内容不符"),
    (SimpleUploadedFile("执照.pdf", b""), "文件是空的"),
])
def test_a_bad_file_refuses_the_whole_application(mall, upload, message):
    category = new_category(mall)
    with pytest.raises(ServiceError, match=message):
        services.admission_apply(actor=mall.seller_x, supplier=mall.supplier_x, category=category,
                                 uploads=[pdf(), upload])
    assert not Admission.objects.filter(category=category).exists() and not AdmissionDocument.objects.exists()


def test_an_oversized_file_is_refused(mall, settings):
    settings.UPLOAD_MAX_BYTES = 10
    admission = Admission.objects.get(supplier=mall.supplier_x, category=mall.paper)
    with pytest.raises(ServiceError, match="文件不能超过"):
        services.admission_document_add(actor=mall.seller_x, admission=admission, upload=pdf())


def test_only_the_supplier_adds_documents_and_others_cannot_download_them(mall, client_for):
    admission = Admission.objects.get(supplier=mall.supplier_x, category=mall.paper)
    document = services.admission_document_add(actor=mall.seller_x, admission=admission, upload=pdf())
    assert_write_refused(lambda: services.admission_document_add(actor=mall.seller_y, admission=admission,
                                                                 upload=pdf()), models=[AdmissionDocument])
    url = reverse("mall:file", args=["admission", document.pk])
    response = client_for(mall.seller_x).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert client_for(mall.world.supervisor).get(url).status_code == 200
    for outsider in (mall.seller_y, mall.buyer_a, mall.world.outsider):
        assert client_for(outsider).get(url).status_code == 404
    assert client_for(mall.seller_x).get(reverse("mall:file", args=["other", document.pk])).status_code == 404


def test_the_admissions_page_uploads_with_the_application(mall, client_for):
    category = new_category(mall)
    client = client_for(mall.seller_x)
    client.post(reverse("mall:admission_apply"), {"category": category.pk, "documents": "", "files": [pdf()]})
    admission = Admission.objects.get(supplier=mall.supplier_x, category=category)
    assert admission.files.count() == 1
    assert "营业执照.pdf" in client.get(reverse("mall:admissions")).content.decode()


def test_suspending_removing_and_reinstating_are_the_sanctions_history(mall):
    admission = Admission.objects.get(supplier=mall.supplier_x, category=mall.paper)
    services.admission_decide(actor=mall.world.admin, admission=admission, status="suspended", reason="虚假发货")
    services.admission_decide(actor=mall.world.admin, admission=admission, status="admitted")
    services.admission_decide(actor=mall.world.admin, admission=admission, status="removed", reason="再次虚假发货")
    history = list(Sanction.objects.filter(supplier=mall.supplier_x).order_by("pk")
                   .values_list("kind", "reason", "category_id"))
    assert history == [("suspension", "虚假发货", mall.paper.pk), ("lifted", "恢复准入", mall.paper.pk),
                       ("removal", "再次虚假发货", mall.paper.pk)]


def test_an_administrator_records_a_sanction_with_its_decision_document(mall):
    sanction = services.sanction_record(actor=mall.world.admin, supplier=mall.supplier_y, kind="warning",
                                        reason="延迟发货三次", category=mall.pcs, upload=pdf("处罚决定书.pdf"))
    assert sanction.files.get().original_name == "处罚决定书.pdf"
    event = AuditEvent.objects.get(object_type="mall.sanction", object_id=str(sanction.pk))
    assert event.changes["kind"] == "warning" and event.changes["files"] == [hashlib.sha256(PDF).hexdigest()]
    for bad in ({"kind": "fine"}, {"reason": " "}):
        with pytest.raises(ServiceError):
            services.sanction_record(actor=mall.world.admin, supplier=mall.supplier_y,
                                     **{"kind": "warning", "reason": "x", **bad})
    with pytest.raises(ServiceError, match="只能对供应商企业"):
        services.sanction_record(actor=mall.world.admin, supplier=mall.world.street_a, kind="warning", reason="x")
    assert_write_refused(lambda: services.sanction_record(actor=mall.seller_y, supplier=mall.supplier_y,
                                                          kind="warning", reason="x"), models=[Sanction])
    assert Sanction.objects.count() == 1 and SanctionDocument.objects.count() == 1


def test_a_supplier_sees_only_its_own_sanctions_and_the_supervisor_all(mall, client_for):
    services.sanction_record(actor=mall.world.admin, supplier=mall.supplier_x, kind="warning", reason="甲的警告")
    services.sanction_record(actor=mall.world.admin, supplier=mall.supplier_y, kind="penalty", reason="乙的违约")
    page = client_for(mall.seller_x).get(reverse("mall:sanctions")).content.decode()
    assert "甲的警告" in page and "乙的违约" not in page and "记录处罚" not in page
    page = client_for(mall.world.supervisor).get(reverse("mall:sanctions")).content.decode()
    assert "甲的警告" in page and "乙的违约" in page and "记录处罚" not in page
    admin = client_for(mall.world.admin)
    response = admin.post(reverse("mall:sanctions"), {"supplier": mall.supplier_x.pk, "kind": "warning",
                                                      "reason": "页面记录", "file": pdf()})
    assert response.status_code == 302
    assert Sanction.objects.get(reason="页面记录").files.count() == 1
    assert Category.objects.count() == 2
