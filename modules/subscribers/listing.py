"""The subscriber changelist's rows, rendered once per page instead of once per cell.

unfold builds each cell through generic code that recomputes every column header per row, and
renders each row's actions menu through a template with eight URL reversals: most of a 50-row
page's CPU. Here each column's decisions (field or callable, display function, classes, link)
are made once per page, the change URL and the actions menu are rendered once with a
placeholder id and filled in per row. The HTML is unfold's own.
"""

from __future__ import annotations

import datetime

from django.contrib.admin.templatetags.admin_list import _coerce_field_name, result_hidden_fields
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    lookup_field,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from unfold.templatetags.unfold_list import (
    CHECKBOX_CLASSES,
    LINK_CLASSES,
    ROW_CLASSES,
    result_headers,
)
from unfold.utils import (
    display_for_dropdown,
    display_for_field,
    display_for_header,
    display_for_label,
    display_for_value,
)

PK_SLOT = "__row_pk__"


def supports(cl) -> bool:
    """The features this renderer leaves to unfold: editable lists, sections, drag sorting,
    popups and non-integer keys."""
    model_admin = cl.model_admin
    return not (
        getattr(cl, "formset", None)
        or getattr(model_admin, "list_sections", None)
        or getattr(model_admin, "ordering_field", None)
        or cl.is_popup
        or cl.to_field
        or not isinstance(cl.lookup_opts.pk, models.AutoField)
    )


def result_list(context, cl) -> dict:
    """The context of unfold's `change_list_results.html`, with each row as finished HTML."""
    headers = list(result_headers(cl))
    request = context["request"]
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": cl.result_list,
        "rows": rows(cl, headers, context.get("actions_row"), request),
        "actions_row": context.get("actions_row"),
        "has_add_permission": cl.model_admin.has_add_permission(request),
    }


def rows(cl, headers, actions_row, request) -> list[str]:
    cells = _column_renderers(cl, headers)
    menu = _actions_menu(actions_row, request)
    out = []
    for obj in cl.result_list:
        pk = str(obj.pk)
        html = "".join(render(obj, pk) for render in cells)
        # Every value and label in the cells went through conditional_escape; the menu is
        # template output; the id is an integer.
        out.append(mark_safe(html + menu.replace(PK_SLOT, pk)))  # noqa: S308
    return out


def _actions_menu(actions_row, request) -> str:
    if not actions_row:
        return ""
    return render_to_string(
        "unfold/helpers/actions_row.html", {"actions": actions_row, "instance_pk": PK_SLOT}, request
    )


def _change_url(cl) -> str | None:
    """The change link of a row, with `PK_SLOT` for its id (escaped, filters preserved)."""
    try:
        url = reverse(
            f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
            args=(PK_SLOT,),
            current_app=cl.model_admin.admin_site.name,
        )
    except NoReverseMatch:
        return None
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    return str(escape(url))


def _column_renderers(cl, headers) -> list:
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    links = cl.list_display_links
    url = _change_url(cl)
    renderers, first = [], True
    for index, name in enumerate(cl.list_display):
        is_link = links is not None and ((first and not links) or name in links)
        if is_link:
            tag, label = ("th" if first else "td"), headers[index]["text"]
            first = False
        else:
            tag, label = "td", headers[index]["text"] if index else gettext("Select record")
        renderers.append(
            _cell(
                name,
                index,
                cl.model,
                model_admin,
                empty,
                tag,
                conditional_escape(label),
                url if is_link else None,
            )
        )
    return renderers


def _cell(name, index, model, model_admin, empty, tag, label, url):
    """A function of (row, id) giving the row's `<td>` (or `<th>`) for column `name`."""
    base = [f"field-{_coerce_field_name(name, index)}", *ROW_CLASSES]

    def wrap(classes, html, pk):
        if url is not None:
            href = url.replace(PK_SLOT, pk)
            html = f'<a href="{href}" class="{" ".join(LINK_CLASSES)}" >{html}</a>'
        return f'<{tag} class="{" ".join(classes)}" data-label="{label}">{html}</{tag}>'

    field = _model_field(model, name)
    if field is not None:
        classes = base + (
            ["nowrap"]
            if isinstance(field, models.DateField | models.TimeField | models.ForeignKey)
            else []
        )
        related = isinstance(field.remote_field, models.ManyToOneRel)

        def render_field(obj, pk):
            try:
                value = getattr(obj, name)
            except ObjectDoesNotExist:
                return wrap(base, conditional_escape(empty), pk)
            if related:
                shown = empty if value is None else value
            else:
                shown = display_for_field(value, field, empty)
            return wrap(classes, conditional_escape(shown), pk)

        return render_field

    def render_other(obj, pk):
        try:
            _, attr, value = lookup_field(name, obj, model_admin)
        except ObjectDoesNotExist:
            return wrap(base, conditional_escape(empty), pk)
        shown_empty = getattr(attr, "empty_value_display", empty)
        classes = list(CHECKBOX_CLASSES) if name == "action_checkbox" else list(base)
        if colors := getattr(attr, "label", False):
            shown = display_for_label(value, shown_empty, colors)
        elif getattr(attr, "dropdown", False):
            shown = display_for_dropdown(obj, name, value, shown_empty)
        elif getattr(attr, "header", False):
            shown = display_for_header(value, shown_empty)
        else:
            shown = display_for_value(value, shown_empty, getattr(attr, "boolean", False))
        if isinstance(value, datetime.date | datetime.time):
            classes.append("nowrap")
        return wrap(classes, conditional_escape(shown), pk)

    return render_other


def _model_field(model, name):
    """The field `lookup_field` reads for `name`, or None when it calls something instead."""
    if callable(name):
        return None
    try:
        return _get_non_gfk_field(model._meta, name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        return None
