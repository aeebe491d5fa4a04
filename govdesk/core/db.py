"""Raw bulk inserts for the paths that write one row per imported row (records, audit events).

``bulk_create`` prepares every field of every row through the ORM, and on PostgreSQL the
driver's ``executemany`` sends one statement per row. Here a batch goes in with one prepared
statement per 500 rows on SQLite and with ``COPY ... FROM STDIN`` on PostgreSQL, where the new
rows' ids are reserved from the table's sequence beforehand, so nothing needs reading back.
Both run inside the caller's transaction.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

from django.db import models, transaction
from django.db.models import signals

BATCH = 500
READ_BACK_CHUNK = 400  # SQLite's limit on query parameters
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert ``rows`` (tuples of database-ready values in ``columns`` order) into ``table``.
    JSON columns take their text."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        batch: list[Sequence] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def reserve_ids(model: type[models.Model], count: int) -> list[int] | None:
    """``count`` new primary keys from ``model``'s sequence on PostgreSQL; None elsewhere."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql" or count == 0:
        return None
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def _memo(adapt):
    """``adapt`` remembering its answers: a batch's rows share their timestamps and many dates."""
    seen: dict = {}

    def adapted(value):
        try:
            return seen[value]
        except KeyError:
            seen[value] = result = adapt(value)
            return result

    return adapted


def instance_factory(model: type[models.Model]):
    """A function making unsaved ``model`` instances from field values (attribute names or
    relation names), the way ``model(**values)`` does but without ``Model.__init__``'s walk over
    every field for every row (a fifth of an import's time for a 50-field record). Defaults
    are the fields' own; a callable default is called for every instance. The model must have
    no ``pre_init``/``post_init`` receivers (checked here)."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        raise ValueError(f"{model.__name__} has init signal receivers; build it with {model.__name__}(...)")
    static: dict = {}
    dynamic: list = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            dynamic.append((field.attname, field.default))
        else:
            static[field.attname] = field.get_default()

    def make(**values) -> models.Model:
        obj = model.__new__(model)
        obj._state = models.base.ModelState()
        attrs = obj.__dict__
        attrs.update(static)
        for attname, default in dynamic:
            attrs[attname] = default()
        for name, value in values.items():
            setattr(obj, name, value)
        return obj

    return make


def insert_objects(objs: Sequence[models.Model], *, key: str) -> None:
    """Insert unsaved instances of one model and give them their primary keys.

    ``key`` names a unique field: where ids cannot be reserved (SQLite), the new rows' ids are
    read back by it."""
    if not objs:
        return
    model = type(objs[0])
    connection = transaction.get_connection()
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    prepare = []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                field.pre_save(obj, add=True)
        if isinstance(field, models.DateTimeField):
            prepare.append((field.attname, _memo(connection.ops.adapt_datetimefield_value)))
        elif isinstance(field, models.DateField):
            prepare.append((field.attname, _memo(connection.ops.adapt_datefield_value)))
        elif isinstance(field, _PLAIN):
            prepare.append((field.attname, None))
        else:
            prepare.append((field.attname, lambda v, f=field: f.get_db_prep_save(v, connection)))
    columns = [f.column for f in fields]
    ids = reserve_ids(model, len(objs))
    if ids is not None:
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
        columns.insert(0, meta.pk.column)
    # one C-level attrgetter for the whole row, then the few values that need adapting
    names = [name for name, _adapt in prepare]
    if ids is not None:
        names.insert(0, meta.pk.attname)
    offset = 1 if ids is not None else 0
    adapted = [(i + offset, adapt) for i, (_name, adapt) in enumerate(prepare) if adapt is not None]
    values = operator.attrgetter(*names) if len(names) > 1 else (lambda o: (getattr(o, names[0]),))

    def row(obj) -> list:
        out = list(values(obj))
        for i, adapt in adapted:
            out[i] = adapt(out[i])
        return out

    rows = (row(o) for o in objs)
    insert_rows(meta.db_table, columns, rows)
    if ids is None:
        attname = meta.get_field(key).attname
        by_key = {getattr(o, attname): o for o in objs}
        keys = list(by_key)
        for start in range(0, len(keys), READ_BACK_CHUNK):
            for pk, value in model._default_manager.filter(
                    **{f"{attname}__in": keys[start:start + READ_BACK_CHUNK]}).values_list("pk", attname):
                by_key[value].pk = pk
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
