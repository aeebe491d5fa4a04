"""Session and transport security (issue #9, item 8): what a browser and a device meet.

Production headers are checked in a child process started with GOVDESK_DEBUG=0 and real
keys (settings are read once per process); everything else runs against the test server.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from govdesk.conftest import PASSWORD
from govdesk.core import services
from govdesk.core.errors import ServiceError
from govdesk.core.models import ApiToken

from .urlconf import page_routes

pytestmark = pytest.mark.django_db

PRODUCTION_PROBE = r"""
import json, os
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.conf import settings
# Static files are hashed by collectstatic at deploy time; the probe does not deploy them.
settings.STORAGES = {**settings.STORAGES,
                     "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
call_command("migrate", verbosity=0)
from govdesk.core.models import User
User.objects.create_user("probe", password="Probe-pass-2026!")
c = Client()
insecure = c.get("/login/", HTTP_HOST="govdesk.example.cn")
page = c.get("/login/", secure=True, HTTP_HOST="govdesk.example.cn")
login = c.post("/login/", {"username": "probe", "password": "Probe-pass-2026!"}, secure=True,
               HTTP_HOST="govdesk.example.cn")
cookies = {name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"]}
           for name, m in login.cookies.items()}
print(json.dumps({
    "insecure_status": insecure.status_code, "insecure_location": insecure.get("Location", ""),
    "headers": {k: v for k, v in page.headers.items()}, "login_status": login.status_code,
    "cookies": cookies, "hashers": settings.PASSWORD_HASHERS[0],
}))
"""


def _production_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVDESK_") and k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(GOVDESK_DEBUG="0", GOVDESK_DATA_DIR=str(tmp_path), GOVDESK_ALLOWED_HOSTS="govdesk.example.cn",
               GOVDESK_SECRET_KEY=secrets.token_urlsafe(50),
               GOVDESK_DATA_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
               DJANGO_SETTINGS_MODULE="govdesk.settings")
    return env


def test_production_check_deploy_is_clean(tmp_path):
    result = subprocess.run([sys.executable, "-m", "govdesk.cli", "check", "--deploy", "--fail-level", "WARNING"],
                            env=_production_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_answers_with_https_only_headers_and_secure_cookies(tmp_path):
    result = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], env=_production_env(tmp_path),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    # plain HTTP is sent to HTTPS
    assert probe["insecure_status"] == 301 and probe["insecure_location"].startswith("https://")
    headers = probe["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    # the session and CSRF cookies never travel over plain HTTP and the session is out of scripts' reach
    assert probe["login_status"] == 302
    assert probe["cookies"]["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert probe["cookies"]["csrftoken"]["secure"] is True
    assert "PBKDF2" in probe["hashers"] or "Argon2" in probe["hashers"]


def _inline_script_problems(html: str) -> list[str]:
    problems = []
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I):
        attrs, body = match.group(1), match.group(2)
        if "src=" in attrs:
            continue
        if 'type="application/json"' in attrs and "</" not in body:
            continue  # json_script data: never executed
        problems.append(f"inline script: {match.group(0)[:80]}")
    problems += [f"inline handler: {m}" for m in re.findall(r"<[^>]+\son[a-z]+\s*=", html, re.I)][:3]
    problems += ["javascript: URL"] if re.search(r"""(href|src|action)\s*=\s*["']\s*javascript:""", html, re.I) else []
    return problems


def test_every_page_runs_only_our_own_scripts_and_cannot_be_framed(world):
    """CSP allows 'self' scripts only, so a page must need nothing else: no inline script,
    no inline event handler, no javascript: URL. Checked on every page without URL
    arguments, as the district administrator (who sees the most)."""
    client = Client()
    client.force_login(world.admin)
    checked, problems = 0, []
    for route in page_routes():
        if route.params or route.name in ("core:logout", "api:openapi-view"):
            continue  # the API's Swagger viewer is exempt from the CSP (docs/SECURITY.md)
        response = client.get(reverse(route.name))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        csp = response.get("Content-Security-Policy", "")
        if "script-src 'self';" not in csp or "frame-ancestors 'none'" not in csp:
            problems.append(f"{route.name}: CSP {csp!r}")
        if response.get("X-Frame-Options") != "DENY":
            problems.append(f"{route.name}: X-Frame-Options {response.get('X-Frame-Options')!r}")
        problems += [f"{route.name}: {p}" for p in _inline_script_problems(response.content.decode())]
    assert checked >= 30
    assert not problems, "\n".join(problems)


def test_weak_passwords_are_refused_when_set_and_when_changed(world):
    for weak in ("12345678", "password", "short1", "newbie2026"):
        with pytest.raises(ServiceError):
            services.user_create(actor=world.admin, username="newbie", display_name="新人", password=weak,
                                 role="street_officer", unit=world.street_a)
    client = Client()
    client.force_login(world.officer_a)
    response = client.post(reverse("core:password_change"),
                           {"old_password": PASSWORD, "new_password": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200 and "密码" in response.content.decode()
    world.officer_a.refresh_from_db()
    assert world.officer_a.check_password(PASSWORD)


def test_login_is_throttled_after_repeated_failures_even_with_the_right_password(world, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post(reverse("core:login"), {"username": "officer_a", "password": "wrong-guess"})
        assert response.status_code == 200 and "用户名或密码不正确" in response.content.decode()
    response = client.post(reverse("core:login"), {"username": "officer_a", "password": PASSWORD})
    assert response.status_code == 200 and "登录失败次数过多" in response.content.decode()
    assert client.get(reverse("core:home")).status_code == 302  # still signed out
    other = Client()  # another account is not locked by it
    assert other.post(reverse("core:login"), {"username": "officer_b", "password": PASSWORD}).status_code == 302


def test_an_idle_session_expires_and_activity_keeps_it_alive(world, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    client = Client()
    assert client.post(reverse("core:login"), {"username": "officer_a", "password": PASSWORD}).status_code == 302
    key = client.cookies["sessionid"].value
    # activity pushes the expiry forward
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get(reverse("core:home")).status_code == 200
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + timedelta(hours=7)
    # a session left idle past its age is gone: the next request goes to the login page
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_tokens_are_stored_hashed_shown_once_and_revocable(world):
    client = Client()
    client.force_login(world.officer_a)
    response = client.post("/api/v1/core/tokens", data={"name": "采集终端"}, content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    key = created["key"]
    assert key.startswith("gdk_")
    stored = ApiToken.objects.get(pk=created["id"])
    assert key not in json.dumps({f.name: str(getattr(stored, f.attname)) for f in ApiToken._meta.fields})
    device = Client()
    assert device.get("/api/v1/core/me", headers={"Authorization": f"Bearer {key}"}).json()["username"] == "officer_a"
    listed = client.get("/api/v1/core/tokens").json()
    assert all("key" not in t for t in listed)  # never shown again
    # another person cannot revoke it; its owner can, and it stops working at once
    other = Client()
    other.force_login(world.officer_b)
    assert other.post(f"/api/v1/core/tokens/{created['id']}/revoke").status_code == 404
    assert client.post(f"/api/v1/core/tokens/{created['id']}/revoke").status_code == 200
    assert device.get("/api/v1/core/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert device.get("/api/v1/core/me", headers={"X-Api-Token": key}).status_code == 401


def test_a_deactivated_user_loses_both_the_session_and_the_tokens(world):
    _token, key = services.token_create(actor=world.officer_a, owner=world.officer_a, name="终端")
    browser = Client()
    browser.force_login(world.officer_a)
    services.user_set_active(actor=world.admin, user=world.officer_a, active=False)
    assert browser.get(reverse("core:home")).status_code == 302
    assert Client().get("/api/v1/core/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
