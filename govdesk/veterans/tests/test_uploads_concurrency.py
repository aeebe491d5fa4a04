"""A device that retries while its first request is still running sends the same piece twice
at once; on PostgreSQL the upload row is locked for the write, so the file is assembled once
and becomes one attachment."""

import hashlib
import threading
import uuid

import pytest
from django.db import connection, connections

from govdesk.veterans import services, uploads
from govdesk.veterans.models import Attachment, Record, Upload

from .conftest import person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SCAN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


def test_the_same_pieces_sent_at_once_make_one_whole_file_and_one_attachment(vets):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/govdesk_dev")
    record = services.record_create(actor=vets.collector_a, data=person(vets.world.community_a),
                                    declared_attachments=["id_card"], submit=True)
    upload_id = uuid.uuid4()
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes = []

    def send(n):
        try:
            barrier.wait()
            upload, _ = uploads.upload_start(actor=vets.collector_a, record=record, upload_uuid=upload_id,
                                             kind="id_card", size=len(SCAN), content_type="image/jpeg",
                                             sha256=hashlib.sha256(SCAN).hexdigest())
            for start in range(0, len(SCAN), 4096):
                upload = uploads.upload_chunk(actor=vets.collector_a, upload=upload, offset=start,
                                              data=SCAN[start:start + 4096])
            outcomes.append(upload.status)
        except Exception as e:  # reported in the assertion below
            outcomes.append(repr(e))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["done"] * workers
    assert Upload.objects.count() == 1 and Upload.objects.get().received == len(SCAN)
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(SCAN).hexdigest()
    assert Record.objects.get(pk=record.pk).status == "collected"  # complete, so submitted as asked
