"""The bulk write a module's ``apply_batch`` service usually needs: insert or update by natural key.

    def veterans_import_batch(actor, rows, dry_run):
        return upsert(
            actor=actor, model=Veteran, rows=rows, key=("id_index",),
            build=lambda row: {"id_index": blind_index("ric", row.values["id_number"]),
                               "id_enc": encrypt(row.values["id_number"]), "name": row.values["name"],
                               "org_unit": row.values["unit"]},
            compare=("name", "org_unit"),
            changeable=Veteran.objects.restrict(actor, "change"),
            unit_of=lambda v: v.org_unit,
        )

One query per 400 keys finds the existing records, one more finds which of them
the actor may change; new records go in with ``bulk_create``, changed ones with
``bulk_update``, and every created or changed row gets one audit event through
``audit_many`` — all inside the batch transaction the engine opened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models, transaction

from ..audit import Entry, audit_many
from ..models import AuditEvent, OrgUnit
from .schema import RowError, ValidRow

A = AuditEvent.Action
CHUNK = 400  # SQLite's limit on query parameters
WRITE_BATCH = 1000


def _plain(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def upsert(*, actor, model: type[models.Model], rows: Sequence[ValidRow], key: tuple[str, ...],
           build: Callable[[ValidRow], dict[str, Any]], compare: tuple[str, ...],
           changeable: models.QuerySet, unit_of: Callable[[Any], OrgUnit | None],
           verb: str = "import", taken_message: str = "该记录已由其他单位登记，不在您的权限范围内") -> list:
    """Create or update ``model`` rows by the natural ``key`` (field names of ``model``).

    ``build(row)`` gives the field values to write (the key fields included).
    ``compare`` are the fields whose difference makes an update and goes into the
    audit event (leave ciphertexts out — they differ on every encryption — and
    compare their blind index instead). A record that exists but is not in
    ``changeable`` (``Model.objects.restrict(actor, "change")``) is refused. The key
    fields need an index (a unique constraint): each batch looks its keys up.
    Returns, per row, ``"created"``, ``"updated"``, ``"unchanged"`` or a ``RowError``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("upsert runs inside the batch transaction")
    meta = model._meta
    attnames = {name: meta.get_field(name).attname for name in {*key, *compare}}
    built = [build(row) for row in rows]
    keys = [tuple(_plain(values[k]) for k in key) for values in built]

    existing: dict[tuple, models.Model] = {}
    # Narrow by every key field; the most varied one is chunked (a unit column repeats, a name does not).
    distinct = [sorted({k[i] for k in keys}, key=str) for i in range(len(key))]
    widest = max(range(len(key)), key=lambda i: len(distinct[i]))
    narrow = {f"{attnames[key[i]]}__in": distinct[i] for i in range(len(key))
              if i != widest and len(distinct[i]) <= CHUNK}
    for start in range(0, len(distinct[widest]), CHUNK):
        lookup = {**narrow, f"{attnames[key[widest]]}__in": distinct[widest][start:start + CHUNK]}
        for obj in model._default_manager.filter(**lookup):
            existing[tuple(getattr(obj, attnames[k]) for k in key)] = obj
    allowed: set = set()
    ids = [obj.pk for obj in existing.values()]
    for start in range(0, len(ids), CHUNK):
        allowed.update(changeable.filter(pk__in=ids[start:start + CHUNK]).values_list("pk", flat=True))

    outcomes: list = []
    created: list[models.Model] = []
    updated: list[models.Model] = []
    update_fields: set[str] = set()
    entries: list[tuple[str, models.Model, dict]] = []
    for values, row_key in zip(built, keys, strict=True):  # the engine refused duplicate keys already
        obj = existing.get(row_key)
        if obj is None:
            obj = model(**values)
            created.append(obj)
            entries.append((A.CREATE, obj, {f: _plain(values[f]) for f in compare}))
            outcomes.append("created")
            continue
        if obj.pk not in allowed:
            outcomes.append(RowError(taken_message))
            continue
        changes = {f: [getattr(obj, attnames[f]), _plain(values[f])] for f in compare
                   if getattr(obj, attnames[f]) != _plain(values[f])}
        if not changes:
            outcomes.append("unchanged")
            continue
        for name, value in values.items():
            setattr(obj, name, value)
        update_fields.update(name for name in values if name not in key)
        updated.append(obj)
        entries.append((A.UPDATE, obj, changes))
        outcomes.append("updated")

    model._default_manager.bulk_create(created, batch_size=WRITE_BATCH)
    if updated and update_fields:
        model._default_manager.bulk_update(updated, sorted(update_fields), batch_size=WRITE_BATCH)
    audit_many(actor=actor, entries=[Entry(action=action, unit=unit_of(obj), obj=obj, verb=verb, changes=changes)
                                     for action, obj, changes in entries])
    return outcomes
