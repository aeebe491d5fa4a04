"""Re-encrypt personal data under the current GOVDESK_DATA_KEY (see docs/OPERATIONS.md).

Every model field named ``<name>_enc`` holds a ciphertext that names its key. Rows whose
ciphertext still uses an older key (listed in GOVDESK_DATA_KEYS_OLD) are decrypted and
encrypted again, and their ``<name>_bidx`` blind index — which derives from the data key
too — is recomputed with the blind-index kind ``<name>``. Rows written after the key
changed are already current and are left alone, so the command can be rerun safely.
"""

from django.apps import apps
from django.core.management import BaseCommand
from django.db import transaction

from govdesk.core import personal
from govdesk.core.audit import audit
from govdesk.core.models import AuditEvent, OrgUnit

BATCH = 1000


def encrypted_fields(model) -> list[tuple[str, str | None]]:
    """(ciphertext field, blind-index field or None) pairs of a model."""
    names = {f.name for f in model._meta.concrete_fields}
    pairs = []
    for name in sorted(names):
        if name.endswith("_enc"):
            stem = name[: -len("_enc")]
            pairs.append((name, f"{stem}_bidx" if f"{stem}_bidx" in names else None))
    return pairs


def rotate_model(model) -> int:
    rotated = 0
    for enc_field, bidx_field in encrypted_fields(model):
        stem = enc_field[: -len("_enc")]
        kind = stem.removeprefix("new_").removeprefix("contact_")
        last_pk = 0
        while True:
            rows = list(model._base_manager.filter(pk__gt=last_pk).exclude(**{enc_field: ""}).order_by("pk")
                        .only("pk", enc_field, *([bidx_field] if bidx_field else []))[:BATCH])
            if not rows:
                break
            last_pk = rows[-1].pk
            stale = [row for row in rows if personal.needs_rotation(getattr(row, enc_field))
                     and getattr(row, enc_field) != "-"]
            for row in stale:
                clear = personal.decrypt(getattr(row, enc_field))
                setattr(row, enc_field, personal.encrypt(clear))
                if bidx_field:
                    setattr(row, bidx_field, personal.blind_index(kind, clear))
            if stale:
                with transaction.atomic():
                    model._base_manager.bulk_update(stale, [enc_field] + ([bidx_field] if bidx_field else []))
                rotated += len(stale)
    return rotated


class Command(BaseCommand):
    help = "Re-encrypt and re-index personal data under the current data key."

    def handle(self, *args, **options):
        total = 0
        root = OrgUnit.objects.filter(parent=None).order_by("pk").first()
        for model in apps.get_models():
            if model._meta.app_label in {"contenttypes", "auth", "sessions"} or not encrypted_fields(model):
                continue
            count = rotate_model(model)
            if count:
                with transaction.atomic():
                    audit(actor=None, action=AuditEvent.Action.UPDATE, unit=root, verb="rotate_data_key",
                          object_type=model._meta.label_lower, changes={"rows": count})
                self.stdout.write(f"{model._meta.label}: {count} 行已换用新密钥")
            total += count
        self.stdout.write(self.style.SUCCESS(f"完成：共 {total} 行个人信息换用当前密钥。"))
