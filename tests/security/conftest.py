"""Fixtures of the security suite: the shared ``world`` (govdesk/conftest.py) is not visible
from tests/, so it is rebuilt here from the same builder."""

from __future__ import annotations

import pytest

from govdesk.conftest import World, build_world


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    # The production hasher costs ~0.3 s a user and the world makes a dozen; what is tested
    # here is who may do what, not the hasher (test_sessions.py checks the production setting).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT
