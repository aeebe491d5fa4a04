"""Offline collection in the browser: the form page and its service worker.

The page (``/veterans/offline/``) is the record form; its script (``static/veterans/offline.js``)
keeps what the collector submits in an IndexedDB queue on the tablet, lists what is waiting,
and sends it through the device API (``POST /api/v1/veterans/records/sync``, session-authenticated,
a client UUID per record) whenever the network is there — so a resend is harmless. The service
worker is served from the page's own folder (``/veterans/offline/sw.js``) so that its scope
covers the page; it keeps the page and the static files it needs in the browser's cache.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import queries, services
from .forms import RecordForm
from .models import Attachment

# what the offline page loads (base.html and the page's own script)
ASSETS = ["vendor/bootstrap/css/bootstrap.min.css", "core/app.css", "vendor/htmx/htmx.min.js",
          "vendor/echarts/echarts.min.js", "core/app.js", "veterans/offline.js"]
WORKER_VERSION = "1"


@login_required
@require_GET
def offline_form(request):
    form = RecordForm(communities=queries.units_for_records(request.user))
    response = render(request, "veterans/offline.html", {
        "form": form, "title": "离线采集",
        "scope": reverse("veterans:offline"), "worker": reverse("veterans:offline_worker"),
        "api": reverse("api:record_sync"), "records_url": reverse("veterans:records"),
        # the API's prefix for uploads: {prefix}records/<uuid>/uploads and {prefix}uploads/<id>
        "uploads_url": reverse("api:record_sync").removesuffix("records/sync"),
        "attachment_kinds": Attachment.Kind.choices, "max_bytes": services.ATTACHMENT_MAX_BYTES,
        "max_mb": services.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    })
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline_worker(request):
    """The service worker script. Public (it holds only URLs): a worker update check must not
    meet a login redirect. The cache name changes with the list of assets (hashed file names
    in production), so a new deployment refreshes the cache."""
    assets = [static(a) for a in ASSETS]
    page = reverse("veterans:offline")
    version = hashlib.sha256("\n".join([WORKER_VERSION, page, *assets]).encode()).hexdigest()[:12]
    response = render(request, "veterans/offline_sw.js", {"assets": assets, "page": page, "version": version},
                      content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = page
    return response
