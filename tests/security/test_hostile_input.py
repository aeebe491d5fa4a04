"""Hostile input (issue #9, item 3): the corpus in ``corpus.py`` goes through representative
forms of every module, the import engine, uploads and API endpoints.

What a user would check: a hostile string is either stored exactly as typed or refused with
a clear message (and then nothing is written); wherever it is shown it is escaped (no raw
markup in the HTML, charts' data safe inside ``json_script``); in Excel exports a leading
``= + - @`` is a quoted string, never a formula; a hostile file is refused before anything is
written; nothing answers 500.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from govdesk.core.errors import ServiceError
from govdesk.core.models import AuditEvent, OrgUnit, TableJob
from govdesk.core.personal import fold

from . import corpus
from .factories import PNG, Objects

pytestmark = pytest.mark.django_db

MARKUP = [s for s in corpus.XSS if any(c in s for c in "<>\"'")]
# What reaches a service from a request: NUL never does (refused at the door, tested below).
THROUGH_THE_DOOR = [s for s in corpus.TEXT if "\x00" not in s]


def client_of(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def assert_escaped(html: str, where: str) -> None:
    leaked = [p for p in MARKUP if p in html]
    assert not leaked, f"{where}: raw hostile markup in the page: {leaked}"
    for raw in ("<script>alert", "<img src=x", "<svg/onload", "<iframe src=//evil"):
        assert raw not in html, f"{where}: raw {raw!r} in the page"
    for block in re.findall(r"<script[^>]*application/json[^>]*>(.*?)</script>", html, re.S):
        assert "<" not in block, f"{where}: a chart's json_script data holds a raw '<'"


def attempt(call):
    """Run a service with a hostile value: it stores it (returns the object) or refuses it
    clearly and writes nothing (returns None)."""
    before = AuditEvent.objects.count()
    try:
        return call()
    except ServiceError as e:
        assert e.message.strip(), "a refusal without a message"
        assert AuditEvent.objects.count() == before, "a refused write left audit events"
        return None


def assert_no_formula(xlsx: bytes, where: str) -> int:
    """Every cell that Excel would read as a formula is a quoted string. Returns how many
    hostile-looking cells were checked."""
    book = load_workbook(io.BytesIO(xlsx))
    checked = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: a formula in {cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                    assert cell.quotePrefix, f"{where}: {cell.coordinate} {cell.value!r} is not quoted"
                    checked += 1
    return checked


def download(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- text through forms and services ----------------------------------------------------------


def test_core_unit_form_stores_or_refuses_every_hostile_name_and_shows_it_escaped(world):
    admin = client_of(world.admin)
    url = reverse("core:unit_create", args=[world.street_a.pk])
    stored = 0
    for i, text in enumerate(THROUGH_THE_DOOR):
        before = OrgUnit.objects.count(), AuditEvent.objects.count()
        response = admin.post(url, {"kind": "community", "code": f"H{i:03d}", "name": text})
        assert response.status_code in (200, 302), f"{text[:30]!r}: {response.status_code}"
        if response.status_code == 200:  # refused: the form says why and nothing is written
            assert "field-error" in response.content.decode() or "alert-danger" in response.content.decode()
            assert (OrgUnit.objects.count(), AuditEvent.objects.count()) == before
        else:
            unit = OrgUnit.objects.get(code=f"H{i:03d}")
            # names are folded (NFKC, no spaces) as everywhere in core; nothing else changes
            assert unit.name == fold(text).strip(), f"stored {unit.name[:30]!r}"
            stored += 1
    assert stored >= len(corpus.XSS)  # markup is text: it is stored, and shown escaped
    for name, args in (("core:units", []), ("core:unit", [world.street_a.pk]), ("core:home", []),
                       ("core:audit", [])):
        response = admin.get(reverse(name, args=args))
        assert response.status_code == 200
        assert_escaped(response.content.decode(), name)
    xlsx = download(admin.get(reverse("core:units") + "?export=xlsx"))
    assert assert_no_formula(xlsx, "orgunits export") >= len(corpus.FORMULA) - 1


def test_coal_place_form_and_export_keep_hostile_text_inert(world):
    officer = client_of(world.officer_a)
    url = reverse("coal:place_create")
    Objects(world).get("coal.place")  # the coal office and the usual places
    created = []
    for text in THROUGH_THE_DOOR:
        response = officer.post(url, {"community": world.community_a.pk, "name": text[:100], "kind": "restaurant",
                                      "address": text[:200], "contact_name": "", "contact_phone": ""})
        assert response.status_code in (200, 302), f"{text[:30]!r}: {response.status_code}"
        if response.status_code == 302:
            created.append(response["Location"])
    assert len(created) >= len(corpus.XSS) + len(corpus.FORMULA)
    for page in [reverse("coal:places"), reverse("coal:dashboard"), *created[:12]]:
        response = officer.get(page)
        assert response.status_code == 200, page
        assert_escaped(response.content.decode(), page)
    for query in corpus.SQL + corpus.XSS[:2]:
        response = officer.get(reverse("coal:places"), {"q": query})
        assert response.status_code == 200
        assert_escaped(response.content.decode(), f"places?q={query}")
    xlsx = download(officer.get(reverse("coal:places") + "?export=xlsx"))
    assert assert_no_formula(xlsx, "coal places export") >= len(corpus.FORMULA)


def test_module_services_store_hostile_names_exactly_and_pages_escape_them(world):
    """One representative write per module through its own service, then its pages."""
    from govdesk.contest import services as contest
    from govdesk.invest import services as invest
    from govdesk.mall import services as mall

    objects = Objects(world)
    firm = objects.get("invest.firm")[0]
    desk_industry, region = firm.industry, firm.region
    m = objects.get("mall.product") and objects._module["mall"]
    c = objects.get("contest.competition") and objects._module["contest"]
    open_event = contest.event_create(actor=c.organiser, competition=c.competition, name="新生儿复苏")
    stored = {"invest": 0, "mall": 0, "contest": 0}
    for i, text in enumerate(t for t in corpus.XSS + corpus.UNICODE + corpus.FORMULA if t in THROUGH_THE_DOOR):
        f = attempt(lambda text=text: invest.firm_create(actor=world.dept_officer, unit=world.department, name=text,
                                                        industry=desk_industry, region=region))
        if f is not None:
            assert f.name in (text, text.strip())
            stored["invest"] += 1
        p = attempt(lambda text=text, i=i: mall.product_create(actor=world.admin, category=m.paper, name=text,
                                                         brand=f"品牌{i}", model=f"M{i}", unit="箱"))
        if p is not None:
            stored["mall"] += 1
        k = attempt(lambda text=text: contest.contestant_add(actor=c.organiser, competition=c.competition, name=text,
                                                            institution=c.hosp_a, events=[open_event]))
        if k is not None:
            stored["contest"] += 1
    assert all(n >= len(corpus.XSS) for n in stored.values()), stored
    pages = [
        (world.dept_officer, reverse("invest:firms")), (world.dept_officer, reverse("invest:dashboard")),
        (world.admin, reverse("mall:catalogue")), (world.admin, reverse("mall:categories")),
        (c.organiser, reverse("contest:competition", args=[c.competition.pk])),
        (c.organiser, reverse("contest:board", args=[c.competition.pk])),
        (world.supervisor, reverse("contest:supervision", args=[c.competition.pk])),
    ]
    for user, page in pages:
        response = client_of(user).get(page)
        assert response.status_code == 200, page
        assert_escaped(response.content.decode(), page)


def test_veterans_record_refuses_or_keeps_hostile_text_and_masks_nothing_into_markup(world):
    from govdesk.veterans import services
    from govdesk.veterans.tests.conftest import person

    objects = Objects(world)
    objects.get("veterans.record")
    collector = type(world.admin).objects.get(username="collector_a")
    kept = 0
    for seq, text in enumerate((t for t in corpus.XSS + corpus.UNICODE if t in THROUGH_THE_DOOR), start=100):
        data = person(world.community_a, seq=seq, residential_address=text, service_unit=text[:50])
        record = attempt(lambda data=data: services.record_create(actor=collector, data=data))
        if record is not None:
            kept += 1
    assert kept >= len(corpus.XSS)
    officer = client_of(world.officer_a)
    for page in (reverse("veterans:records"), reverse("veterans:dashboard")):
        response = officer.get(page)
        assert response.status_code == 200
        assert_escaped(response.content.decode(), page)
    record = services.Record.objects.filter(residential_address=corpus.XSS[0]).first() if hasattr(
        services, "Record") else None
    if record is not None:
        response = officer.get(reverse("veterans:record", args=[record.pk]))
        assert_escaped(response.content.decode(), "veterans:record")


# --- the import engine ---------------------------------------------------------------------------


def _table_workbook(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name,content,content_type", [
    ("炸弹.xlsx", "bomb", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("损坏.xlsx", "malformed", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("程序.xlsx", "exe", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("网页.csv", "html", "text/csv"),
    ("超大.xlsx", "oversized", "application/octet-stream"),
    ("空.xlsx", "empty", "application/octet-stream"),
])
def test_the_import_engine_refuses_hostile_files_before_writing_anything(world, settings, name, content,
                                                                         content_type):
    settings.UPLOAD_MAX_BYTES = 256 * 1024
    data = {
        "bomb": lambda: corpus.zip_bomb(12 * settings.UPLOAD_MAX_BYTES),
        "malformed": corpus.malformed_xlsx,
        "exe": corpus.not_a_spreadsheet,
        "html": lambda: b"<script>alert(1)</script>\x00\x01\x02" * 3,
        "oversized": lambda: b"PK" + b"\x00" * (settings.UPLOAD_MAX_BYTES + 10),
        "empty": lambda: b"",
    }[content]()
    before = TableJob.objects.count(), AuditEvent.objects.count()
    client = client_of(world.officer_a)
    response = client.post(reverse("core:table_import", args=["coal-places"]),
                           {"mode": "all", "file": SimpleUploadedFile(name, data, content_type=content_type)})
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert "field-error" in page or "alert-danger" in page, "refused without a message"
    assert (TableJob.objects.count(), AuditEvent.objects.count()) == before
    assert_escaped(page, f"import of {name}")


def test_an_import_with_a_traversal_file_name_stays_inside_the_data_folder(world, settings):
    from govdesk.core.tables.jobs import jobs_root

    client = client_of(world.officer_a)
    data = _table_workbook([["名称", "地址"], ["王记", "甲一社区"]])
    for evil in corpus.TRAVERSAL_NAMES:
        response = client.post(reverse("core:table_import", args=["coal-places"]),
                               {"mode": "all", "file": SimpleUploadedFile(evil.replace("\x00", ""), data)})
        assert response.status_code in (200, 302)
    root = jobs_root().resolve()
    for job in TableJob.objects.all():
        for stored in (job.source_file, job.result_file):
            if stored:
                path = (root / stored).resolve()
                assert path.is_relative_to(root), f"{stored!r} escapes {root}"
        response = client.get(reverse("core:table_job", args=[job.pk]))
        assert response.status_code == 200
        assert_escaped(response.content.decode(), "job page")


# --- uploads ---------------------------------------------------------------------------------------


def test_photo_uploads_check_the_bytes_not_the_name_and_keep_files_inside_media(world, settings):
    from govdesk.coal.models import Photo

    objects = Objects(world)
    inspection = objects.get("coal.inspection")[0]
    client = client_of(world.officer_a)
    url = reverse("coal:photo_add", args=[inspection.pk])
    before = Photo.objects.count(), AuditEvent.objects.count()
    for name, data, kind in (("照片.png", corpus.html_as_image(), "image/png"),
                             ("photo.jpg", corpus.not_a_spreadsheet(), "image/jpeg"),
                             ("a.png", b"", "image/png")):
        response = client.post(url, {"photo": SimpleUploadedFile(name, data, content_type=kind)})
        assert response.status_code == 302
    assert (Photo.objects.count(), AuditEvent.objects.count()) == before
    for evil in corpus.TRAVERSAL_NAMES:
        response = client.post(url, {"photo": SimpleUploadedFile(evil.replace("\x00", ""), PNG + evil.encode(),
                                                                 content_type="text/html")})
        assert response.status_code == 302
    media = Path(settings.MEDIA_ROOT).resolve()
    for photo in Photo.objects.all():
        stored = str(getattr(photo, "file", "") or getattr(photo, "path", "") or "")
        assert ".." not in stored
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        assert path.resolve().is_relative_to(media)
    for photo in Photo.objects.filter(inspection=inspection):
        response = client.get(reverse("coal:photo", args=[photo.pk]))
        assert response.status_code == 200 and response["Content-Type"] in ("image/png", "image/jpeg")
        assert response.get("X-Content-Type-Options") == "nosniff"


def test_document_and_attachment_uploads_refuse_wrong_types_and_write_nothing(world):
    from govdesk.invest.models import Document
    from govdesk.veterans.models import Attachment

    objects = Objects(world)
    project = objects.get("invest.project")[0]
    record = objects.get("veterans.record")[0]
    before = Document.objects.count(), Attachment.objects.count(), AuditEvent.objects.count()
    dept = client_of(world.dept_officer)
    for name, data in (("协议.pdf", corpus.not_a_spreadsheet()), ("../../协议.pdf", corpus.html_as_image()),
                       ("协议.exe", b"%PDF-1.4\n")):
        response = dept.post(reverse("invest:document_upload", args=[project.pk]),
                             {"kind": "agreement", "file": SimpleUploadedFile(name, data, "application/pdf")})
        assert response.status_code in (200, 302)
    officer = client_of(world.officer_a)
    for name, data in (("身份证.jpg", corpus.html_as_image()), ("../../身份证.jpg", corpus.not_a_spreadsheet())):
        response = officer.post(reverse("veterans:attachment_upload", args=[record.pk]),
                                {"kind": "id_card", "file": SimpleUploadedFile(name, data, "image/jpeg")})
        assert response.status_code in (200, 302)
    assert (Document.objects.count(), Attachment.objects.count(), AuditEvent.objects.count()) == before


# --- API endpoints ---------------------------------------------------------------------------------


def test_api_endpoints_answer_hostile_json_with_structured_errors_never_500(world):
    objects = Objects(world)
    objects.get("coal.place")
    client = client_of(world.admin)
    statuses = set()
    for i, text in enumerate(corpus.TEXT):
        body = {"parent_id": world.street_a.pk, "kind": "community", "code": f"API{i:03d}", "name": text}
        response = client.post("/api/v1/core/units", data=body, content_type="application/json")
        statuses.add(response.status_code)
        assert response.status_code in (200, 201, 400, 409, 422), f"{text[:30]!r}: {response.status_code}"
        if response.status_code >= 400:
            error = response.json()
            assert set(error) >= {"code", "message", "fields"} and error["message"]
        else:
            assert response.json()["name"] == fold(text).strip()
        search = client.get("/api/v1/coal/places", {"q": text[:200]})
        assert search.status_code == (400 if "\x00" in text else 200)
    for raw in (b"{", b"\xff\xfe", b'{"name": "\\ud800"}', b"[]", b"null"):
        response = client.post("/api/v1/core/units", data=raw, content_type="application/json")
        assert response.status_code in (400, 422), (raw, response.status_code)
    assert statuses & {200, 201}


def test_nul_characters_are_refused_at_the_door_on_every_route(world):
    """PostgreSQL cannot hold or compare text with NUL; forms refused it already, the API and
    search parameters did not (a 500 on PostgreSQL, found by this suite)."""
    client = client_of(world.admin)
    before = OrgUnit.objects.count(), AuditEvent.objects.count()
    response = client.post("/api/v1/core/units", data={"parent_id": world.street_a.pk, "kind": "community",
                                                       "code": "NUL1", "name": "\u0000空"},
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    for url in ("/api/v1/coal/places?q=%00", reverse("coal:places") + "?q=a%00b", reverse("core:units") + "?q=%00"):
        assert client.get(url).status_code == 400, url
    # a form (multipart, as browsers send it with files) refuses NUL itself, field by field
    response = client.post(reverse("core:unit_create", args=[world.street_a.pk]),
                           {"kind": "community", "code": "NUL2", "name": "甲\x00乙"})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert (OrgUnit.objects.count(), AuditEvent.objects.count()) == before
    # binary uploads are not text: a PNG full of zero bytes still goes through
    inspection = Objects(world).get("coal.inspection")[0]
    photo = SimpleUploadedFile("a.png", PNG, content_type="image/png")
    assert client_of(world.officer_a).post(reverse("coal:photo_add", args=[inspection.pk]),
                                           {"photo": photo}).status_code == 302
