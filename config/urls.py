import importlib

from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from modules.core import views as core_views
from modules.core.navigation import MODULES
from modules.settings_hub import views as settings_views

module_paths = "|".join(m.path for m in MODULES if m.key not in {"settings", "dashboard"})

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/index", permanent=False)),
    path("login", core_views.portal_login, name="login"),
    path("dashboard/index", RedirectView.as_view(pattern_name="admin:index"), name="dashboard"),
    path("settings/index", settings_views.settings_index, name="settings-index"),
    re_path(rf"^(?P<path>{module_paths})/?$", core_views.module_index, name="module-index"),
    path("admin/", admin.site.urls),
]

# A module with its own pages ships `urls.py` with URL_PREFIX ("selfcare/") and urlpatterns.
for config in apps.get_app_configs():
    if config.name.startswith("modules.") or config.name == "radius_server":
        try:
            module_urls = importlib.import_module(f"{config.name}.urls")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.urls":
                raise
            continue
        urlpatterns.append(path(module_urls.URL_PREFIX, include(module_urls)))

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

