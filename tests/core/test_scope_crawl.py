"""Every registered admin model, walked as users of different scopes and kinds.

New modules are picked up without editing this file: each registered model admin must use
the scoping mixin and have a sample factory in `tests/<module>/samples.py`.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from modules.core.admin_base import Scope, ScopedAdminMixin
from modules.core.navigation import sidebar
from tests.samples import load_all

SAMPLES = load_all()
LABELS = sorted(model._meta.label_lower for model in admin.site._registry)

# Which sample organizations each world user may reach (its subtree).
SUBTREE = {
    "isp_admin": {"root", "dist", "lco1", "lco2", "partner"},
    "dist": {"dist", "lco1", "lco2"},
    "lco1": {"lco1"},
    "partner": {"partner"},
    "no_perm": {"dist", "lco1", "lco2"},  # its scope; it holds no permission to use it
    "other_admin": {"other_root"},
}
TENANT_ADMIN_OF = {"isp_admin": "root", "other_admin": "other_root"}
HOST = {"other_admin": "beta.test"}


def _url(opts, view, *args):
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _samples(model_admin, label, world):
    factory = SAMPLES[label]
    if model_admin.scope_kind == Scope.ORGANIZATION:
        names = ["root", "dist", "lco1", "lco2", "partner", "other_root"]
    elif model_admin.scope_kind == Scope.TENANT:
        names = ["root", "other_root"]
    else:
        names = ["root"]
    return {name: factory(world.orgs[name]) for name in names}


def _model_access(model_admin, who):
    if who == "no_perm":
        return False
    if model_admin.scope_kind == Scope.ORGANIZATION:
        return True
    if model_admin.scope_kind == Scope.PLATFORM:
        return False
    return who in TENANT_ADMIN_OF


def _in_scope(model_admin, who, owner):
    """Scope alone: what the admin's queryset holds for this user."""
    kind = model_admin.scope_kind
    if kind == Scope.ORGANIZATION:
        return owner in SUBTREE[who]
    if kind == Scope.TENANT:
        return TENANT_ADMIN_OF.get(who) == owner
    if kind == Scope.GLOBAL:
        return who in TENANT_ADMIN_OF
    return False


def _visible(model_admin, who, owner):
    """Scope and permission: what the user can reach through any view."""
    return _model_access(model_admin, who) and _in_scope(model_admin, who, owner)


def _autocomplete_sources(model):
    """(source admin model, field name) pairs whose autocomplete would list `model`."""
    for source in admin.site._registry:
        for field in source._meta.get_fields():
            relation = getattr(field, "many_to_one", False) or getattr(field, "many_to_many", False)
            if relation and field.concrete and field.remote_field.model is model:
                yield source, field.name


def test_every_admin_model_is_scoped_and_has_a_sample():
    unscoped = [
        label
        for label in LABELS
        if not isinstance(admin.site._registry[apps.get_model(label)], ScopedAdminMixin)
    ]
    missing = [label for label in LABELS if label not in SAMPLES]
    assert not unscoped, f"admins without ScopedAdminMixin: {unscoped}"
    assert not missing, f"admin models without a sample factory in tests/*/samples.py: {missing}"


def test_user_without_permissions_has_no_menu(world, client):
    request = RequestFactory().get("/admin/")
    request.user = world.users["no_perm"]
    assert sidebar(request) == []
    client.force_login(world.users["no_perm"])
    assert client.get("/settings/index").status_code == 403


@pytest.mark.parametrize("label", LABELS)
def test_admin_model_respects_scope(label, world, client):
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    opts = model._meta
    samples = _samples(model_admin, label, world)
    sources = [(s, f) for s, f in _autocomplete_sources(model) if model_admin.search_fields]

    for who, user in world.users.items():
        host = HOST.get(who, "testserver")
        client.force_login(user)
        access = _model_access(model_admin, who)
        request = RequestFactory().get("/admin/", HTTP_HOST=host)
        request.user = user
        visible_ids = set(model_admin.get_queryset(request).values_list("pk", flat=True))
        for owner, obj in samples.items():
            expected = _in_scope(model_admin, who, owner)
            assert (obj.pk in visible_ids) == expected, (who, owner, label)

        listing = client.get(_url(opts, "changelist"), HTTP_HOST=host)
        assert listing.status_code in ((200, 302) if access else (403,)), (who, label)

        add = client.get(_url(opts, "add"), HTTP_HOST=host)
        if not access:
            assert add.status_code == 403, (who, label)

        hidden = [(o, obj) for o, obj in samples.items() if not _visible(model_admin, who, o)]
        for owner, obj in hidden[:2]:
            before = model_to_dict(obj)
            for view in ("change", "history", "delete"):
                try:
                    url = _url(opts, view, obj.pk)
                except NoReverseMatch:
                    continue
                got = client.get(url, HTTP_HOST=host)
                assert got.status_code in (403, 404), (who, owner, view, label, got.status_code)
                posted = client.post(url, {"post": "yes"}, HTTP_HOST=host)
                assert posted.status_code in (403, 404), (who, owner, view, label)
            fresh = model._default_manager.filter(pk=obj.pk).first()
            assert fresh is not None and model_to_dict(fresh) == before, (who, owner, label)

        for owner, obj in samples.items():
            if _visible(model_admin, who, owner):
                got = client.get(_url(opts, "change", obj.pk), HTTP_HOST=host)
                assert got.status_code == 200, (who, owner, label, got.status_code)
                break

        for source, field_name in sources:
            response = client.get(
                "/admin/autocomplete/",
                {
                    "term": "",
                    "app_label": source._meta.app_label,
                    "model_name": source._meta.model_name,
                    "field_name": field_name,
                },
                HTTP_HOST=host,
            )
            if response.status_code == 200:
                ids = {str(r["id"]) for r in response.json()["results"]}
                for owner, obj in samples.items():
                    if not _visible(model_admin, who, owner):
                        assert str(obj.pk) not in ids, (who, owner, label, "autocomplete")

        if hasattr(model_admin, "get_export_queryset") and access:
            exported = set(model_admin.get_export_queryset(request).values_list("pk", flat=True))
            for owner, obj in samples.items():
                assert (obj.pk in exported) == _visible(model_admin, who, owner), (who, "export")
        client.logout()
