from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from modules.core.navigation import MODULES, module_is_installed, module_items

_MODULES_BY_PATH = {m.path: m for m in MODULES}


def portal_login(request):
    """`/login`: the themed admin sign-in page."""
    return admin.site.login(request)


def module_index(request, path: str):
    """Entry URLs of the module map (`/subscribers/index`, ...): open the module's first page."""
    module = _MODULES_BY_PATH.get(path)
    if module is None:
        raise Http404("Unknown module.")
    if not request.user.is_authenticated or not request.user.is_staff:
        return redirect(f"/login?next=/{path}")
    if not module_is_installed(module):
        context = {**admin.site.each_context(request), "module": module, "title": module.title}
        return TemplateResponse(request, "core/module_unavailable.html", context)
    items = module_items(module, request)
    if not items:
        raise PermissionDenied
    return redirect(items[0]["link"])


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    """Shown by django-axes when sign-in is locked after repeated failures."""
    return HttpResponse(
        "Too many failed sign-in attempts. The account is locked for a while; "
        "try again later or contact your administrator.",
        status=429,
        content_type="text/plain",
    )
