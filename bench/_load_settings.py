"""Settings of the load benchmark's server (bench/load.py): GovDesk's own settings plus
``django.contrib.admin``, whose changelists are the peer. The admin is not part of GovDesk; it
is enabled only here, for the measurement."""

from govdesk.settings import *  # noqa: F403
from govdesk.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.admin"]
ROOT_URLCONF = "bench._load_urls"
