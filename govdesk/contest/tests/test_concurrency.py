"""Several judges submitting at the same moment on PostgreSQL: every sheet, audit event
and closed to-do is kept, and the audit chain stays whole."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection, connections

from govdesk.contest import services
from govdesk.contest.models import Sheet
from govdesk.core.audit import verify
from govdesk.core.models import AuditEvent, Todo

from .conftest import build_contest

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_submissions_by_several_judges_lose_nothing(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/govdesk_dev")
    contest = build_contest(world)
    contest.advance_and_open()
    sheets = list(Sheet.objects.filter(event=contest.event).select_related("judge__user"))
    assert len(sheets) == 7
    barrier = threading.Barrier(len(sheets))
    errors = []

    def score(sheet):
        try:
            barrier.wait(timeout=10)
            services.sheet_submit(actor=sheet.judge.user, sheet=sheet, points=contest.full_marks(),
                                  seconds_used=600)
            # a double tap from the same tablet must be refused, not applied twice
            try:
                services.sheet_submit(actor=sheet.judge.user, sheet=sheet, points=contest.full_marks(),
                                      seconds_used=601)
            except services.Conflict:
                pass
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(repr(e))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=score, args=(s,)) for s in sheets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(Sheet.objects.filter(event=contest.event).values_list("status", "total", "seconds_used")) == {
        ("submitted", D("100.00"), 600)}
    assert AuditEvent.objects.filter(verb="submit").count() == 7
    assert not Todo.objects.filter(kind=services.TODO_SCORE, done_at=None).exists()
    _checked, broken = verify()
    assert broken is None
