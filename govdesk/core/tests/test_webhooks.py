"""To-do notifications reach a unit's webhook (a WeCom group robot) — tested against a
real local HTTP receiver, through the database queue and through Redis (RQ)."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from govdesk.conftest import reachable, skip_or_fail
from govdesk.core import services
from govdesk.core.errors import ServiceError
from govdesk.core.models import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/robot", received
    server.shutdown()


def test_a_new_todo_is_pushed_to_the_units_webhook(world, receiver, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    url, received = receiver
    services.webhook_create(actor=world.officer_a, unit=world.street_a, name="街道工作群", url=url)
    with django_capture_on_commit_callbacks(execute=True):
        services.todo_open(user=world.officer_a, kind="review", title="审核退役军人信息", source=world.community_a,
                           unit=world.community_a)
    assert received == [{"msgtype": "text", "text": {"content": "【区政通待办】officer_a：审核退役军人信息"}}]


def test_other_streets_webhooks_hear_nothing(world, receiver, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    url, received = receiver
    services.webhook_create(actor=world.officer_b, unit=world.street_b, name="乙街道群", url=url)
    with django_capture_on_commit_callbacks(execute=True):
        services.todo_open(user=world.officer_a, kind="review", title="甲街道的事", source=world.community_a,
                           unit=world.community_a)
    assert received == []


def test_webhooks_are_scoped_and_validated(world):
    with pytest.raises(ServiceError, match="地址格式不正确"):
        services.webhook_create(actor=world.officer_a, unit=world.street_a, name="x", url="javascript:alert(1)")
    from govdesk.core.errors import NotInReach
    with pytest.raises(NotInReach):
        services.webhook_create(actor=world.officer_a, unit=world.street_b, name="x", url="http://127.0.0.1/")
    assert Webhook.objects.count() == 0


def test_delivery_runs_on_redis_through_a_separate_worker(world, receiver, settings,
                                                          django_capture_on_commit_callbacks):
    if not reachable("127.0.0.1", 6379):
        skip_or_fail("needs Redis at 127.0.0.1:6379")
    redis_url = "redis://127.0.0.1:6379/15"
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    import django_rq
    django_rq.get_connection("default").flushdb()
    url, received = receiver
    services.webhook_create(actor=world.officer_a, unit=world.street_a, name="街道工作群", url=url)
    with django_capture_on_commit_callbacks(execute=True):
        services.todo_open(user=world.officer_a, kind="review", title="经 Redis 投递", source=world.community_a,
                           unit=world.community_a)
    assert received == []  # queued, not yet delivered
    env = {**os.environ, "GOVDESK_TASK_BACKEND": "rq", "GOVDESK_REDIS_URL": redis_url}
    subprocess.run([sys.executable, "-m", "govdesk.cli", "worker", "--batch"], env=env, check=True, timeout=60,
                   capture_output=True)
    assert [m["text"]["content"] for m in received] == ["【区政通待办】officer_a：经 Redis 投递"]
