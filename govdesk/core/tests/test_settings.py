"""Production mode: refuses to start without its keys and passes `check --deploy` cleanly."""

import base64
import os
import secrets
import subprocess
import sys


def run_govdesk(*args, **env):
    skip = {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # the browser tests set the latter in-process
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GOVDESK_") and k not in skip}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "govdesk.cli", *args], env=full_env, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_keys(tmp_path):
    result = run_govdesk("check", GOVDESK_DEBUG="0", GOVDESK_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "GOVDESK_SECRET_KEY and GOVDESK_DATA_KEY" in result.stderr


def test_production_passes_check_deploy_without_warnings(tmp_path):
    result = run_govdesk(
        "check", "--deploy", "--fail-level", "WARNING",
        GOVDESK_DEBUG="0", GOVDESK_DATA_DIR=str(tmp_path), GOVDESK_ALLOWED_HOSTS="govdesk.example.cn",
        GOVDESK_SECRET_KEY=secrets.token_urlsafe(50),
        GOVDESK_DATA_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_bad_boolean_fails_loudly(tmp_path):
    result = run_govdesk("check", GOVDESK_DEBUG="maybe", GOVDESK_DATA_DIR=str(tmp_path))
    assert result.returncode != 0 and "GOVDESK_DEBUG must be a boolean" in result.stderr
