"""The audit trail: append-only hash chains written in the change's own transaction.

Each event stores the hash of the previous event of its chain. A chain is one
branch of the org tree (a street, a department — see ``OrgUnit.chain_key``), so
two streets writing at once never wait for each other; within a chain the head
row is locked (``select_for_update``) for the rest of the writing transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from django.db import IntegrityError, transaction
from django.utils import timezone

from .db import insert_rows
from .models import AuditChain, AuditEvent, OrgUnit

PLATFORM_CHAIN = "platform"


def canonical_json(value) -> str:
    """The one encoding of an event's changes: stored as is, and hashed as is. Loading it
    back and encoding again gives the same text, which is what ``verify`` relies on."""
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_hash(*, prev_hash: str, chain: str, seq: int, at, actor_id, actor_name: str, action: str, verb: str,
               object_type: str, object_id: str, object_repr: str, unit_id, unit_path: str, changes_json: str) -> str:
    head = json.dumps(
        [chain, seq, at.astimezone(UTC).isoformat(), actor_id, actor_name, action, verb, object_type, object_id,
         object_repr, unit_id, unit_path],
        ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(f"{prev_hash}{head}{changes_json}".encode()).hexdigest()


def _hash_of(event: AuditEvent) -> str:
    return event_hash(
        prev_hash=event.prev_hash, chain=event.chain, seq=event.seq, at=event.at, actor_id=event.actor_id,
        actor_name=event.actor_name, action=event.action, verb=event.verb, object_type=event.object_type,
        object_id=event.object_id, object_repr=event.object_repr, unit_id=event.unit_id, unit_path=event.unit_path,
        changes_json=canonical_json(event.changes),
    )


def _lock_chain(key: str) -> AuditChain:
    chain = AuditChain.objects.select_for_update().filter(key=key).first()
    if chain is None:
        try:
            with transaction.atomic():
                AuditChain.objects.create(key=key)
        except IntegrityError:
            pass  # somebody else created it first
        chain = AuditChain.objects.select_for_update().get(key=key)
    return chain


@dataclass
class Entry:
    """One change to write: what happened to which object in which unit."""

    action: str
    unit: OrgUnit | None
    obj: object = None
    verb: str = ""
    changes: dict | None = None
    object_type: str = ""
    object_id: str = ""
    object_repr: str = ""


def _describe(entry: Entry) -> tuple[str, str, str]:
    obj = entry.obj
    if obj is None:
        return entry.object_type, entry.object_id, entry.object_repr
    meta = obj._meta
    return (entry.object_type or meta.label_lower, entry.object_id or str(obj.pk),
            (entry.object_repr or str(obj))[:200])


_COLUMNS = ("chain", "seq", "at", "actor_id", "actor_name", "action", "verb", "object_type", "object_id",
            "object_repr", "unit_id", "unit_path", "changes", "prev_hash", "hash")


def audit_many(*, actor, entries: Iterable[Entry]) -> int:
    """Write several events (an import batch) with one lock per chain and one INSERT;
    returns how many were written."""
    entries = list(entries)
    if not entries:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the change's transaction")
    now = timezone.now()
    actor_id = getattr(actor, "pk", None)
    actor_name = (actor.get_username() if actor is not None and hasattr(actor, "get_username") else "system")
    by_chain: dict[str, list[Entry]] = {}
    for entry in entries:
        key = entry.unit.chain_key if entry.unit is not None else PLATFORM_CHAIN
        by_chain.setdefault(key, []).append(entry)
    connection = transaction.get_connection()
    at = connection.ops.adapt_datetimefield_value(now)
    rows = []
    for key in sorted(by_chain):  # a fixed lock order: no deadlock between two batches
        chain = _lock_chain(key)
        seq, prev = chain.seq, chain.last_hash
        for entry in by_chain[key]:
            seq += 1
            object_type, object_id, object_repr = _describe(entry)
            unit = entry.unit
            unit_id, unit_path = (unit.pk, unit.path) if unit is not None else (None, "/")
            changes_json = canonical_json(entry.changes or {})
            digest = event_hash(prev_hash=prev, chain=key, seq=seq, at=now, actor_id=actor_id, actor_name=actor_name,
                                action=entry.action, verb=entry.verb, object_type=object_type, object_id=object_id,
                                object_repr=object_repr, unit_id=unit_id, unit_path=unit_path,
                                changes_json=changes_json)
            rows.append((key, seq, at, actor_id, actor_name, entry.action, entry.verb, object_type, object_id,
                         object_repr, unit_id, unit_path, changes_json, prev, digest))
            prev = digest
        AuditChain.objects.filter(key=key).update(seq=seq, last_hash=prev)
    # One raw insert for the whole batch (COPY on PostgreSQL): an import writes an event per
    # row, and the ORM's per-field preparation in bulk_create cost more than the rest of the audit.
    insert_rows(AuditEvent._meta.db_table, _COLUMNS, rows)
    return len(rows)


def audit(*, actor, action: str, unit: OrgUnit | None, obj=None, verb: str = "", changes: dict | None = None,
          object_type: str = "", object_id: str = "", object_repr: str = "") -> None:
    """Write one event in the current transaction (every service calls this)."""
    audit_many(actor=actor, entries=[Entry(action=action, unit=unit, obj=obj, verb=verb, changes=changes,
                                           object_type=object_type, object_id=object_id, object_repr=object_repr)])


def diff(before: dict, after: dict) -> dict:
    """{"field": [old, new]} for the fields that changed."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


@dataclass
class Break:
    chain: str
    seq: int
    event_id: int
    reason: str


def verify(chains: Iterable[str] | None = None) -> tuple[int, Break | None]:
    """Recompute every chain; return (events checked, first broken link or None)."""
    checked = 0
    keys = list(chains) if chains is not None else list(
        AuditChain.objects.order_by("key").values_list("key", flat=True))
    for key in keys:
        prev = "0" * 64
        expected_seq = 1
        for event in AuditEvent.objects.filter(chain=key).order_by("seq").iterator(chunk_size=2000):
            checked += 1
            if event.seq != expected_seq:
                return checked, Break(key, event.seq, event.id, f"missing event before seq {event.seq}")
            if event.prev_hash != prev:
                return checked, Break(key, event.seq, event.id, "prev_hash does not match the previous event")
            if _hash_of(event) != event.hash:
                return checked, Break(key, event.seq, event.id, "content does not match its hash")
            prev = event.hash
            expected_seq += 1
        head = AuditChain.objects.filter(key=key).first()
        if head is not None and (head.seq != expected_seq - 1 or head.last_hash != prev):
            return checked, Break(key, expected_seq, 0, "events missing at the end of the chain")
    return checked, None
