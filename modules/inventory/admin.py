"""Inventory pages: catalogue, locations, stock levels, serialized units and the stock journal.

Scope: every list is the organization subtree of the user, and on top of that the technician
rule of `selectors.is_confined_to_own_stock`: a user who is a technician (holds a personal stock
location, or a role named "Technician") and lacks `inventory.view_all_stock`
("stock-levels.view-all-stock") sees only its own stock location, the levels and units in it,
and the movements in or out of it. Stock changes only through the movement pages (POST forms
calling `services.py`); levels and the journal are read-only here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q, Sum
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from import_export.admin import ImportExportMixin
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display

from modules.core import scope
from modules.core.admin_base import ScopedModelAdmin, ScopedTabularInline
from modules.inventory import selectors, services
from modules.inventory.forms import FORMS
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement, Warehouse
from modules.inventory.resources import (
    OpeningStockResource,
    ProductResource,
    SerialUnitResource,
    StockLevelResource,
)
from modules.plans.models import TaxClass
from modules.subscribers.page_tabs import SubscriberPageInline, show_on_subscriber_page


class StockAdmin(ScopedModelAdmin):
    """Organization scope plus the technician rule; `own_stock(pk)` selects a location's rows."""

    @staticmethod
    def own_stock(pk):
        return Q(warehouse_id=pk)

    def scope_queryset(self, request, qs):
        return selectors.confine(super().scope_queryset(request, qs), request.user,
                                 self.own_stock)


class ImportExportScoped:
    """import-export wiring: unfold forms, resources built for the user, all-or-nothing."""

    import_form_class = ImportForm
    export_form_class = ExportForm

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {"user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        return {**super().get_import_data_kwargs(**kwargs),
                "rollback_on_validation_errors": True}


def _report(request, model_admin, title, table, *, cards=(), empty="Nothing to show."):
    context = {**model_admin.admin_site.each_context(request), "title": title, "table": table,
               "cards": cards, "empty": empty, "opts": model_admin.model._meta}
    return TemplateResponse(request, "inventory/report.html", context)


@admin.register(Product)
class ProductAdmin(ImportExportScoped, ImportExportMixin, ScopedModelAdmin):
    list_display = ["name", "sku", "category", "unit", "is_serialized", "purchase_price",
                    "sale_price", "reorder_level", "on_hand", "is_active"]
    list_filter = ["category", "is_serialized", "is_active", "organization"]
    search_fields = ["sku", "name"]
    fields = ["organization", "sku", "name", "category", "unit", "is_serialized",
              "purchase_price", "sale_price", "tax_class", "reorder_level", "is_active"]
    resource_classes = [ProductResource]
    ordering = ["name", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(stock=Sum("levels__quantity"))

    @display(description="On hand", ordering="stock")
    def on_hand(self, obj):
        return obj.stock or 0

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        stocked = obj.levels.filter(quantity__gt=0).exists() or obj.units.exists()
        return ["organization", "is_serialized"] if stocked else ["organization"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tax_class":
            kwargs["queryset"] = TaxClass.objects.filter(
                tenant_id__in=scope.scope_tenant_ids(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Warehouse)
class WarehouseAdmin(StockAdmin):
    list_display = ["name", "code", "kind", "organization", "technician", "is_active"]
    list_filter = ["kind", "is_active", "organization"]
    search_fields = ["name", "code"]
    list_select_related = ["organization", "technician"]
    fields = ["organization", "code", "name", "kind", "technician", "address", "is_active"]
    actions_list = ["valuation"]
    actions_detail = ["reorder_list"]

    @staticmethod
    def own_stock(pk):
        return Q(pk=pk)

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "kind", "technician"] if obj else []

    @action(description="Stock valuation", url_path="valuation", icon="payments")
    def valuation(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows, totals = selectors.valuation(self.get_queryset(request))
        table = {
            "headers": ["Location", "Organization", "Kind", "Products", "Units", "Value"],
            "rows": [[r["warehouse"].name, r["warehouse"].organization, r["warehouse"]
                      .get_kind_display(), r["products"], r["units"], r["value"]] for r in rows],
        }
        cards = [{"title": "Locations", "value": len(rows)},
                 {"title": "Units on hand", "value": totals["units"]},
                 {"title": "Value at purchase price", "value": totals["value"]}]
        return _report(request, self, "Stock valuation", table, cards=cards,
                       empty="No stock locations.")

    @action(description="Under reorder level", url_path="reorder",
            icon="production_quantity_limits")
    def reorder_list(self, request, object_id):
        warehouse = self.get_scoped_object_or_404(request, object_id)
        if not self.has_view_permission(request, warehouse):
            raise PermissionDenied
        products = selectors.low_stock(warehouse)
        table = {"headers": ["Product", "SKU", "On hand", "Reorder level", "Short by"],
                 "rows": [[p.name, p.sku, p.on_hand, p.reorder_level, p.shortfall]
                          for p in products]}
        return _report(request, self, f"Under reorder level at {warehouse}", table,
                       empty="Every product is at or above its reorder level.")


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", "Under reorder level"), ("no", "At or above reorder level")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(quantity__lt=F("product__reorder_level"))
        if self.value() == "no":
            return queryset.filter(quantity__gte=F("product__reorder_level"))
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(ImportExportScoped, ImportExportMixin, StockAdmin):
    """On-hand stock (read-only: it is the sum of the journal). Import = opening stock."""

    scope_field = "warehouse__organization"
    list_display = ["product", "warehouse", "quantity", "reorder_level", "low", "value"]
    list_filter = [LowStockFilter, "warehouse", "product__category"]
    search_fields = ["product__sku", "product__name", "warehouse__code"]
    list_select_related = ["product", "warehouse"]

    def get_import_resource_classes(self, request):
        return [OpeningStockResource]

    def get_export_resource_classes(self, request):
        return [StockLevelResource]

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("product", "warehouse")

    @display(description="Reorder level")
    def reorder_level(self, obj):
        return obj.product.reorder_level

    @display(description="Low", boolean=True)
    def low(self, obj):
        return obj.is_low

    @display(description="Value")
    def value(self, obj):
        return obj.quantity * obj.product.purchase_price

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HistoryInline(ScopedTabularInline):
    model = StockMovement
    fk_name = "serial_unit"
    fields = ["created_at", "kind", "source", "destination", "subscriber", "reference", "note",
              "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "history"
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "source", "destination", "subscriber", "actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SerialUnit)
class SerialUnitAdmin(ImportExportScoped, ImportExportMixin, StockAdmin):
    list_display = ["serial_number", "mac_address", "product", "status", "where"]
    list_filter = ["status", "product", "warehouse"]
    search_fields = ["=serial_number", "=mac_address"]
    list_select_related = ["product", "warehouse", "subscriber"]
    fields = ["serial_number", "mac_address", "product", "status", "warehouse", "subscriber",
              "organization", "created_at"]
    readonly_fields = fields
    inlines = [HistoryInline]
    resource_classes = [SerialUnitResource]

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("product", "warehouse",
                                                                    "subscriber")

    @display(description="Where")
    def where(self, obj):
        return obj.warehouse or obj.subscriber or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(StockAdmin):
    """The journal, read-only; each movement type has its own POST form (actions on top)."""

    list_display = ["created_at", "kind", "product", "quantity", "serial_unit", "source",
                    "destination", "subscriber", "reference", "actor"]
    list_filter = ["kind", "product__category", "created_at"]
    search_fields = ["reference", "=serial_unit__serial_number", "=subscriber__username"]
    list_select_related = ["product", "serial_unit", "source", "destination", "subscriber",
                           "actor"]
    date_hierarchy = "created_at"
    actions_list = [{"title": "Move stock", "icon": "swap_horiz",
                     "items": ["move_receive", "move_transfer", "move_issue", "move_return",
                               "move_install", "move_recover", "move_write_off", "move_adjust"]}]

    def scope_queryset(self, request, qs):
        return selectors.movements_in_scope(qs, request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # One permission method per movement page, so unfold shows only the allowed ones.
    def _may(self, request, codename):
        return request.user.has_perm(f"inventory.{codename}") and self._has_scope(request)

    def has_receive_stock_permission(self, request, obj=None):
        return self._may(request, "receive_stock")

    def has_transfer_stock_permission(self, request, obj=None):
        return self._may(request, "transfer_stock")

    def has_issue_stock_permission(self, request, obj=None):
        return self._may(request, "issue_stock")

    def has_install_stock_permission(self, request, obj=None):
        return self._may(request, "install_stock")

    def has_write_off_stock_permission(self, request, obj=None):
        return self._may(request, "write_off_stock")

    def has_adjust_stock_permission(self, request, obj=None):
        return self._may(request, "adjust_stock")

    def _movement(self, request, key):
        form_class, title, perm = FORMS[key]
        if not (request.user.has_perm(perm) and self._has_scope(request)):
            raise PermissionDenied
        form = form_class(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                form.perform(request.user)
            except (services.InventoryError, PermissionDenied, ValidationError) as refused:
                form.add_error(None, _message(refused))
            else:
                messages.success(request, f"{title}: done.")
                return redirect(reverse("admin:inventory_stockmovement_changelist"))
        context = {**self.admin_site.each_context(request), "title": title, "form": form,
                   "opts": self.model._meta,
                   "cancel_url": reverse("admin:inventory_stockmovement_changelist")}
        return TemplateResponse(request, "inventory/movement_form.html", context,
                                status=400 if request.method == "POST" else 200)

    @action(description="Receive from supplier", url_path="receive", icon="move_to_inbox",
            permissions=["receive_stock"])
    def move_receive(self, request):
        return self._movement(request, "receive")

    @action(description="Transfer", url_path="transfer", icon="swap_horiz",
            permissions=["transfer_stock"])
    def move_transfer(self, request):
        return self._movement(request, "transfer")

    @action(description="Issue to technician", url_path="issue", icon="engineering",
            permissions=["issue_stock"])
    def move_issue(self, request):
        return self._movement(request, "issue")

    @action(description="Return from technician", url_path="return", icon="undo",
            permissions=["issue_stock"])
    def move_return(self, request):
        return self._movement(request, "return")

    @action(description="Install at subscriber", url_path="install", icon="home",
            permissions=["install_stock"])
    def move_install(self, request):
        return self._movement(request, "install")

    @action(description="Recover from subscriber", url_path="recover", icon="assignment_return",
            permissions=["install_stock"])
    def move_recover(self, request):
        return self._movement(request, "recover")

    @action(description="Write off", url_path="write-off", icon="delete_forever",
            permissions=["write_off_stock"])
    def move_write_off(self, request):
        return self._movement(request, "write-off")

    @action(description="Adjust after a count", url_path="adjust", icon="fact_check",
            permissions=["adjust_stock"])
    def move_adjust(self, request):
        return self._movement(request, "adjust")


def _message(refused: Exception) -> str:
    if isinstance(refused, ValidationError):
        return " ".join(refused.messages)
    return str(refused) or "Not allowed."



# The subscriber's page ---------------------------------------------------------------------
class InstalledEquipmentInline(SubscriberPageInline):
    """Serialized units installed at the subscriber now (ONT, router), by serial and MAC."""

    model = SerialUnit
    fk_name = "subscriber"
    fields = ["serial_number", "mac_address", "product", "updated_at"]
    readonly_fields = fields
    verbose_name = "installed unit"
    verbose_name_plural = "installed equipment"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product").order_by(
            "product__name", "serial_number")


class EquipmentHistoryInline(SubscriberPageInline):
    """Every install and recovery at the subscriber, counted material (cable) included."""

    model = StockMovement
    fk_name = "subscriber"
    fields = ["created_at", "kind", "product", "quantity", "serial_unit", "source",
              "destination", "reference", "actor"]
    readonly_fields = fields
    verbose_name = "equipment movement"
    verbose_name_plural = "equipment history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "product", "serial_unit", "source", "destination", "actor")


show_on_subscriber_page(InstalledEquipmentInline, EquipmentHistoryInline)
