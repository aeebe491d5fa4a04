"""Declared tables: what a module says about its spreadsheet, and nothing else.

A module describes its table once — Chinese headers, the aliases people really
type, each column's type — and hands the engine a function that writes a batch
of valid rows through the module's own services. Reading, normalising,
validating, duplicate detection, reach checks on unit columns, dry runs, batches
and error workbooks are the engine's (``run.py``); no module parses cells.

    register(TableSchema(
        kind="veterans", title="退役军人信息",
        columns=(
            Column("身份证号", "id_number", type="id_number", required=True),
            Column("姓名", "name", required=True, max_length=50),
            Column("入伍时间", "enlisted_on", type=date),
            Column("所属社区", "unit", type=UnitRef(kinds=("community",)), required=True),
        ),
        natural_key=("id_number",),
        apply_batch=veterans_import_batch,   # services.py: bulk write + audit_many
    ))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import QuerySet

from ..reach import OFFICERS

# The types a column can have: Python types for plain values, names for the
# personal-data kinds, a mapping/Choices class for a closed list, a UnitRef for
# a column naming an org unit.
TEXT_TYPES = ("id_number", "phone", "credit_code")
Outcome = Literal["created", "updated", "unchanged"]
OUTCOMES: tuple[str, ...] = ("created", "updated", "unchanged")


@dataclass(frozen=True)
class UnitRef:
    """A column that names an org unit (所属街道, 所属社区, 所属单位编码).

    The engine resolves every unit named in a file with one query and refuses,
    row by row, a unit that does not exist, is retired, has the wrong kind or lies
    outside the importing user's reach for ``roles`` (the same rule as
    ``reach.require_unit``). ``by`` says what the cell holds: the unit's ``code``,
    its ``name``, or ``either``. ``within`` is the key of another UnitRef column
    whose unit must contain this one, so 社区 names are looked up inside the
    row's 街道 (names repeat across streets, codes do not)."""

    by: Literal["code", "name", "either"] = "either"
    kinds: tuple[str, ...] = ()
    roles: frozenset = OFFICERS
    within: str = ""


ColumnType = type | str | Mapping | UnitRef | Any


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``header`` is the Chinese header the template writes; ``aliases`` are other
    headers accepted on import. ``type`` is ``str`` (default), ``int``,
    ``Decimal`` (rounded to ``places``), ``date``, ``bool``, ``"id_number"``,
    ``"phone"``, ``"credit_code"``, a closed list (a Django ``Choices`` class, a
    ``{label: value}`` mapping or ``[(value, label)]`` pairs — labels and values
    are both accepted), or a ``UnitRef``. ``validators`` are callables that raise
    ``django.core.exceptions.ValidationError`` with a Chinese message. A ``secret``
    column (an initial password) is left out of the error workbook.
    """

    header: str
    key: str
    aliases: tuple[str, ...] = ()
    type: ColumnType = str
    required: bool = False
    validators: tuple[Callable[[Any], None], ...] = ()
    max_length: int | None = None
    places: int = 2
    help: str = ""
    width: int | None = None
    secret: bool = False

    def choice_map(self) -> dict[str, str] | None:
        """{folded label or value: value} for a closed list, else None."""
        return choice_map(self.type)

    def choice_labels(self) -> list[str]:
        return choice_labels(self.type)

    @property
    def is_unit(self) -> bool:
        return isinstance(self.type, UnitRef)


def _choice_pairs(kind) -> list[tuple[Any, str]] | None:
    if isinstance(kind, (type, str, UnitRef)) and not hasattr(kind, "choices"):
        return None
    if hasattr(kind, "choices"):  # a Django Choices class
        return [(value, str(label)) for value, label in kind.choices]
    if isinstance(kind, Mapping):
        return [(value, str(label)) for label, value in kind.items()]
    if isinstance(kind, Iterable):
        return [(value, str(label)) for value, label in kind]
    return None


def choice_labels(kind) -> list[str]:
    pairs = _choice_pairs(kind) or []
    return [label for _value, label in pairs]


def choice_map(kind) -> dict[str, Any] | None:
    from .read import fold_key

    pairs = _choice_pairs(kind)
    if pairs is None:
        return None
    mapping: dict[str, Any] = {}
    for value, _label in pairs:
        mapping.setdefault(fold_key(str(value)), value)
    for value, label in pairs:  # a label wins over a value that happens to read the same
        mapping[fold_key(label)] = value
    return mapping


@dataclass
class ValidRow:
    """A row that passed the engine's checks, handed to ``apply_batch``.

    ``row`` is the row number Excel shows; ``values`` maps column keys to clean
    values (``None`` for an empty optional cell; an ``OrgUnit`` for a UnitRef)."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """``apply_batch``'s answer for a row its service refused (nothing written for it).
    ``column`` is a column key or header, or empty for the row as a whole."""

    message: str
    column: str = ""


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: a header and how to get the value from an object
    (an attribute path like ``"parent.code"`` or a callable). ``personal`` marks an
    ID number or phone: its getter returns the clear value (decrypting the stored
    ciphertext) and the exporter masks it unless the export may unmask."""

    header: str
    value: str | Callable[[Any], Any]
    personal: Literal["id_number", "phone"] | None = None
    width: int | None = None
    number_format: str = ""


ApplyBatch = Callable[[Any, list[ValidRow], bool], Sequence["Outcome | RowError"]]
CheckRow = Callable[[dict[str, Any]], None]
ExportQuery = Callable[[Any, dict], QuerySet]


@dataclass(frozen=True)
class TableSchema:
    """A module's table: its columns, its natural key and how a batch is written.

    ``apply_batch(actor, rows, dry_run)`` receives valid rows in file order and
    returns, for each row and in the same order, ``"created"``, ``"updated"``,
    ``"unchanged"`` or a ``RowError``. It writes through the module's services
    (bulk operations and ``audit.audit_many``, one audit event per changed row)
    and must write nothing for a row it answers with a ``RowError`` (use a
    savepoint per row when calling one-row services). The engine calls it inside
    ``transaction.atomic()`` and rolls a dry run back whatever it wrote, so
    ``dry_run`` only lets a module skip costly work; it need not be honoured.
    Raising ``ServiceError`` refuses the whole batch.

    A table without ``apply_batch`` is export-only: an import of it is refused as a whole.

    ``check_row(values)`` checks rules across columns of one row (raise
    ``ValidationError``). ``batch_size`` rows go to one ``apply_batch`` call and
    one transaction. ``export_query(actor, filters)`` and ``export_columns`` make
    the kind exportable (``export.py``); the query must start from ``restrict``.
    ``may_unmask(actor)`` says whether the actor may export the personal columns in
    full, for a module whose unmasking follows its own reach (the veterans bureau reads
    its district); by default the core rule over the actor's home unit decides.
    """

    kind: str
    title: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    apply_batch: ApplyBatch | None = None
    check_row: CheckRow | None = None
    batch_size: int = 1000
    help: str = ""
    export_query: ExportQuery | None = None
    export_columns: tuple[ExportColumn, ...] = ()
    may_unmask: Callable[[Any], bool] | None = None
    # An export-only table (a ledger the platform computes) has no apply_batch; this says
    # where its data comes from instead, for the message that refuses an import.
    import_hint: str = ""
    _by_key: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"table {self.kind}: duplicate column keys")
        missing = [k for k in self.natural_key if k not in keys]
        if missing:
            raise ValueError(f"table {self.kind}: natural key {missing} is not a column")
        for column in self.columns:
            if isinstance(column.type, UnitRef) and column.type.within and column.type.within not in keys:
                raise ValueError(f"table {self.kind}: {column.key} is within unknown column {column.type.within}")
        self._by_key.update({c.key: c for c in self.columns})

    def column(self, key: str) -> Column:
        return self._by_key[key]

    @property
    def importable(self) -> bool:
        return self.apply_batch is not None

    @property
    def not_importable_message(self) -> str:
        return f"「{self.title}」只能导出，不能导入" + (f"：{self.import_hint}" if self.import_hint else "")

    @property
    def exportable(self) -> bool:
        return self.export_query is not None and bool(self.export_columns)


# --- the registry ---------------------------------------------------------------------

_SCHEMAS: dict[str, TableSchema] = {}
_discovered = False


class UnknownTable(LookupError):
    def __init__(self, kind: str):
        super().__init__(f"没有名为「{kind}」的导入导出表格")
        self.message = str(self)


def register(schema: TableSchema) -> TableSchema:
    """Add a table (each app's ``imports.py`` calls this at import time)."""
    existing = _SCHEMAS.get(schema.kind)
    if existing is not None and existing.apply_batch.__module__ != schema.apply_batch.__module__:
        raise ValueError(f"table kind {schema.kind!r} is registered by two modules")
    _SCHEMAS[schema.kind] = schema
    return schema


def _discover() -> None:
    # Each installed app declares its tables in its imports.py, the way the admin finds admin.py.
    global _discovered
    if not _discovered:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("imports")
        _discovered = True


def get(kind: str) -> TableSchema:
    _discover()
    try:
        return _SCHEMAS[kind]
    except KeyError:
        raise UnknownTable(kind) from None


def kinds() -> list[str]:
    _discover()
    return sorted(_SCHEMAS)


def all_schemas() -> list[TableSchema]:
    return [get(kind) for kind in kinds()]


__all__ = [
    "Column", "ExportColumn", "OUTCOMES", "Outcome", "RowError", "TableSchema", "UnitRef", "UnknownTable",
    "ValidRow", "all_schemas", "get", "kinds", "register",
]
