"""Pages of the tables engine: upload → dry run → errors workbook → commit, with a live
progress bar for background jobs; templates; downloads of finished exports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .errors import NotInReach, ServiceError
from .forms import CommitForm, ImportForm
from .models import TableJob
from .reach import READ_ONLY_ROLES, VIEW, Role, get_in_reach, paths_for, require_somewhere
from .tables import UnknownTable, all_schemas, get
from .tables.export import download_response
from .tables.jobs import EXPORT, IMPORT, job_download, job_path, table_job_start
from .tables.read import TableFileError
from .tables.run import template_workbook


def export_page(request, kind: str, filters: dict):
    """A list page's "导出 Excel": the same rows as the page (its filters, the user's reach).
    A small table downloads at once; a large one runs in the background and the user
    watches its progress bar on the job page."""
    try:
        job = table_job_start(actor=request.user, direction=EXPORT, kind=kind,
                              filters={k: v for k, v in filters.items() if v})
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect(request.path)
    if job.status == TableJob.Status.DONE and job.result_file:
        return job_download(job)
    return redirect("core:table_job", pk=job.pk)


def _schema_or_404(kind, *, importing: bool = False):
    try:
        schema = get(kind)
    except UnknownTable:
        raise NotInReach() from None
    if importing and not schema.importable:
        raise NotInReach()
    return schema


@login_required
def tables(request):
    schemas = sorted(all_schemas(), key=lambda s: s.kind)
    jobs = TableJob.objects.restrict(request.user, VIEW).order_by("-created_at")[:20]
    return render(request, "core/tables.html", {"schemas": schemas, "jobs": jobs,
                                                "can_import": bool(_import_roots(request.user))})


def _import_roots(user) -> list[str]:
    """Every import writes through the module's services, which refuse supervisors (and people
    without a membership) row by row: they are not offered the upload form at all."""
    return paths_for(user, set(Role.values) - READ_ONLY_ROLES)


@login_required
def table_template(request, kind):
    schema = _schema_or_404(kind, importing=True)
    return download_response(template_workbook(schema), f"{schema.title}导入模板.xlsx")


@login_required
def table_import(request, kind):
    schema = _schema_or_404(kind, importing=True)
    require_somewhere(_import_roots(request.user), action_label="导入数据")
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = table_job_start(actor=request.user, direction=IMPORT, kind=kind, file=upload, filename=upload.name,
                                  mode=form.cleaned_data["mode"], dry_run=True)
        except (TableFileError, ServiceError) as e:
            form.add_error("file", e.message)
        else:
            return redirect("core:table_job", pk=job.pk)
    return render(request, "core/table_import.html", {"schema": schema, "form": form})


@login_required
def table_job(request, pk):
    job = get_in_reach(TableJob, request.user, VIEW, pk=pk)
    context = {"job": job, "form": CommitForm(initial={"mode": job.mode or "all"}),
               "errors": (job.summary or {}).get("errors", [])[:200]}
    if request.htmx:
        return render(request, "core/table_job.html#progress", context)
    return render(request, "core/table_job.html", context)


@login_required
@require_POST
def table_job_commit(request, pk):
    """Run a finished dry run for real, on the same file."""
    job = get_in_reach(TableJob, request.user, VIEW, pk=pk)
    form = CommitForm(request.POST)
    if not (job.direction == IMPORT and job.dry_run and job.status == TableJob.Status.DONE and form.is_valid()):
        messages.error(request, "只能在试运行完成后正式导入")
        return redirect("core:table_job", pk=job.pk)
    try:
        real = table_job_start(actor=request.user, direction=IMPORT, kind=job.kind, file=job_path(job.source_file),
                               filename=job.source_name, mode=form.cleaned_data["mode"], dry_run=False)
    except (TableFileError, ServiceError) as e:
        messages.error(request, e.message)
        return redirect("core:table_job", pk=job.pk)
    return redirect("core:table_job", pk=real.pk)


@login_required
def table_job_download(request, pk):
    job = get_in_reach(TableJob, request.user, VIEW, pk=pk)
    if not job.result_file:
        raise NotInReach()
    return job_download(job)
