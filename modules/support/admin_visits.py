"""Field-visit admin. A technician (see `selectors.is_confined_to_own_visits`) sees only its
own visits and their materials."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from unfold.decorators import action, display

from modules.core.admin_base import ScopedModelAdmin, ScopedTabularInline
from modules.core.models import User
from modules.inventory import selectors as inventory_selectors
from modules.support import selectors, services
from modules.support.admin_common import ReadOnlyAdmin, optional_autocomplete, run
from modules.support.forms import VisitConfirmForm, VisitFailureForm, VisitOutcomeForm
from modules.support.models import FieldVisit, VisitMaterial

VISIT_COLOURS = {"assigned": "info", "started": "warning", "completed": "success",
                 "failed": "danger"}


class MaterialForm(forms.ModelForm):
    class Meta:
        model = VisitMaterial
        fields = ["product", "quantity", "serial_unit"]


class MaterialInline(ScopedTabularInline):
    """Material lines; they leave the technician's stock when the visit completes.

    Lines are part of the visit: whoever may work the visit may list them, choosing from what
    the visit's technician holds now.
    """

    model = VisitMaterial
    form = MaterialForm
    fields = ["product", "quantity", "serial_unit", "taken_from_stock"]
    readonly_fields = ["taken_from_stock"]
    extra = 0
    tab = True

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        fields = formset.form.base_fields
        if obj is not None and "product" in fields:
            products, units = inventory_selectors.stock_held_by(obj.technician)
            fields["product"].queryset = products
            fields["serial_unit"].queryset = units.select_related("product")
        return formset

    @display(description="Taken from stock", boolean=True)
    def taken_from_stock(self, obj):
        return bool(obj.movement_id)

    def _works_visits(self, request):
        return request.user.has_perm("support.change_fieldvisit")

    def has_view_permission(self, request, obj=None):
        return self._works_visits(request) or request.user.has_perm("support.view_fieldvisit")

    def has_change_permission(self, request, obj=None):
        return False  # lines are added or removed, not edited

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.is_open and self._works_visits(request)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.is_open and self._works_visits(request)


class FieldVisitForm(forms.ModelForm):
    class Meta:
        model = FieldVisit
        fields = ["ticket", "subscriber", "organization", "technician", "scheduled_at",
                  "purpose", "address"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Taken from the ticket or subscriber when left empty (see services.schedule_visit).
        for name in ("organization", "address"):
            if name in self.fields:
                self.fields[name].required = False


@admin.register(FieldVisit)
class FieldVisitAdmin(ScopedModelAdmin):
    form = FieldVisitForm
    list_display = ["reference", "purpose", "technician", "scheduled_at", "status_badge",
                    "subscriber", "ticket"]
    list_display_links = ["reference", "purpose"]
    list_filter = ["status", "technician", "organization"]
    list_select_related = ["technician", "subscriber", "ticket"]
    search_fields = ["purpose", "address", "subscriber__username", "technician__username"]
    raw_id_fields = ["ticket", "subscriber"]
    ordering = ["-scheduled_at", "-id"]
    inlines = [MaterialInline]
    actions_row = ["start_action", "complete_action", "fail_action"]
    actions_detail = ["start_action", "complete_action", "fail_action"]

    def scope_queryset(self, request, qs):
        return selectors.visible_visits(request.user, super().scope_queryset(request, qs))

    def get_autocomplete_fields(self, request):
        return optional_autocomplete(FieldVisit, "ticket", "subscriber")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "technician":
            kwargs["queryset"] = self.scope_queryset_for_users(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scope_queryset_for_users(self, request):
        from modules.core.admin_base import scoped_queryset

        return scoped_queryset(User, request, User.objects.filter(is_active=True))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = ["ticket", "subscriber", "organization", "status", "started_at", "finished_at",
                 "outcome_notes", "created_by"]
        return fixed if obj.is_open else [*fixed, "technician", "scheduled_at", "purpose",
                                          "address"]

    def get_fields(self, request, obj=None):
        fields = ["ticket", "subscriber", "organization", "technician", "scheduled_at",
                  "purpose", "address"]
        return fields if obj is None else [*fields, "status", "started_at", "finished_at",
                                           "outcome_notes", "created_by"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.update_visit(obj, actor=request.user, **{
                k: data[k] for k in ("technician", "scheduled_at", "purpose", "address")
                if k in data})
            return
        visit = services.schedule_visit(
            actor=request.user, technician=data["technician"], scheduled_at=data["scheduled_at"],
            purpose=data["purpose"], address=data.get("address", ""), ticket=data.get("ticket"),
            subscriber=data.get("subscriber"), organization=data.get("organization"),
        )
        obj.pk, obj._state.adding = visit.pk, False

    def save_formset(self, request, form, formset, change):
        visit, added, removed = form.instance, [], []
        for row in formset.deleted_forms:
            if row.instance.pk:
                services.remove_material(row.instance, actor=request.user)
                removed.append(row.instance)
        for row in formset.forms:
            if row in formset.deleted_forms or row.instance.pk or not row.has_changed():
                continue
            data = row.cleaned_data
            added.append(services.add_material(
                visit, actor=request.user, product=data["product"], quantity=data["quantity"],
                serial_unit=data.get("serial_unit")))
        # What the admin's change message reads.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = added, [], removed

    @display(description="Visit", ordering="pk")
    def reference(self, obj):
        return f"V-{obj.pk:06d}"

    @display(description="Status", ordering="status", label=VISIT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    # Actions -----------------------------------------------------------------------------
    def has_work_permission(self, request, object_id=None):
        """Row/detail checks see no object; the dialog form loads it through the scope."""
        return request.user.has_perm("support.change_fieldvisit") and self._has_scope(request)

    def _url(self, obj):
        return reverse("admin:support_fieldvisit_change", args=[obj.pk])

    @action(description="Start", icon="play_arrow", url_path="start",
            permissions=["work"],
            dialog={"title": "Start the visit", "form_class": VisitConfirmForm,
                    "form_submit_text": "Start"})
    def start_action(self, request, form, object_id):
        return run(request, self._url(form.obj),
                   lambda: services.start_visit(form.obj, actor=request.user), "Visit started.")

    @action(description="Complete", icon="task_alt", url_path="complete",
            permissions=["work"],
            dialog={"title": "Complete the visit",
                    "description": "Materials listed on the visit leave your stock now.",
                    "form_class": VisitOutcomeForm, "form_submit_text": "Complete"})
    def complete_action(self, request, form, object_id):
        notes = form.cleaned_data["outcome_notes"]
        return run(request, self._url(form.obj), lambda: services.complete_visit(
            form.obj, actor=request.user, outcome_notes=notes), "Visit completed.")

    @action(description="Failed", icon="report", url_path="fail",
            permissions=["work"],
            dialog={"title": "The visit failed", "form_class": VisitFailureForm,
                    "form_submit_text": "Record failure"})
    def fail_action(self, request, form, object_id):
        notes = form.cleaned_data["outcome_notes"]
        return run(request, self._url(form.obj), lambda: services.fail_visit(
            form.obj, actor=request.user, outcome_notes=notes), "Visit recorded as failed.")


@admin.register(VisitMaterial)
class VisitMaterialAdmin(ReadOnlyAdmin):
    """Materials used, across visits (the same technician rule as the visits)."""

    scope_field = "visit__organization"
    list_display = ["visit", "product", "quantity", "serial_unit", "movement"]
    list_select_related = ["visit", "product", "serial_unit", "movement"]

    def scope_queryset(self, request, qs):
        qs = super().scope_queryset(request, qs)
        if selectors.is_confined_to_own_visits(request.user):
            return qs.filter(visit__technician=request.user)
        return qs
