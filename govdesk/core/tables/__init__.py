"""Tables in, tables out: the one import/export engine of the platform.

A module declares its table in its ``imports.py`` and writes through its own services:

    from govdesk.core.tables import Column, TableSchema, UnitRef, register
    from govdesk.core.tables.bulk import upsert          # the usual bulk write for apply_batch

The engine, for views, the API, commands and jobs:

    tables.schema   register(schema), get(kind), kinds(), all_schemas()
    tables.read     read_table(schema, file, filename) -> Table; count_rows(file, filename);
                    TableFileError (a file that cannot be used, with a Chinese message)
    tables.run      import_table(*, actor, kind, file, filename="", mode="all"|"valid", dry_run=False,
                                 progress=None) -> ImportResult
                    errors_workbook(result) -> bytes; template_workbook(schema_or_kind) -> bytes
    tables.export   export_rows(*, actor, kind, title, columns, queryset, path_or_stream, unmask=False,
                                filters=None, progress=None) -> int
                    export_response(...) -> FileResponse; download_response(file, filename) -> FileResponse
    tables.jobs     table_job_start(*, actor, direction, kind, file=None, filename="", mode="all",
                                    dry_run=False, filters=None, unmask=False) -> TableJob
                    run_job(job_id); job_download(job) -> FileResponse;
                    table_import_task / table_export_task (django-tasks)
    tables.testing  xlsx_bytes(rows, merges=...), csv_bytes(rows, encoding=...), sheet_rows(data)
"""

from .schema import (
    Column,
    ExportColumn,
    RowError,
    TableSchema,
    UnitRef,
    UnknownTable,
    ValidRow,
    all_schemas,
    get,
    kinds,
    register,
)

__all__ = [
    "Column", "ExportColumn", "RowError", "TableSchema", "UnitRef", "UnknownTable", "ValidRow", "all_schemas", "get",
    "kinds", "register",
]
