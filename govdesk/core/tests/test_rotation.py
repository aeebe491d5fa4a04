import base64

import pytest
from django.core.management import call_command

from govdesk.core import personal
from govdesk.core.management.commands.rotate_data_key import encrypted_fields
from govdesk.core.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_rotation_re_encrypts_old_rows_and_leaves_new_ones(world, settings):
    old_key_id = personal.encrypt("x").split(":")[0]
    User.objects.filter(pk=world.officer_a.pk).update(phone_enc=personal.encrypt("13800001234"))
    settings.DATA_KEYS_OLD = f"old:{settings.DATA_KEY}"
    settings.DATA_KEY = base64.b64encode(b"k" * 32).decode()
    User.objects.filter(pk=world.officer_b.pk).update(phone_enc=personal.encrypt("13900005678"))
    fresh = User.objects.get(pk=world.officer_b.pk).phone_enc

    call_command("rotate_data_key")

    a, b = User.objects.get(pk=world.officer_a.pk), User.objects.get(pk=world.officer_b.pk)
    assert a.phone_enc.split(":")[0] != old_key_id and personal.decrypt(a.phone_enc) == "13800001234"
    assert b.phone_enc == fresh  # already under the new key: untouched
    assert AuditEvent.objects.filter(verb="rotate_data_key", object_type="core.user").get().changes == {"rows": 1}
    settings.DATA_KEYS_OLD = ""  # the old key can go: nothing needs it any more
    assert personal.decrypt(User.objects.get(pk=world.officer_a.pk).phone_enc) == "13800001234"


def test_fields_pair_ciphertext_with_blind_index_by_name():
    from govdesk.core.models import User as CoreUser
    assert encrypted_fields(CoreUser) == [("phone_enc", None)]
