"""CSV/XLSX import and export of products, opening stock and serialized units.

Every resource is built for one user (`user=` from the admin): lookups by SKU, location code
and organization code come from that user's scope only, preloaded once per file (no query per
row), so a partner can neither import into nor probe another partner's locations. Stock enters
through the services (journal entries and levels), never by writing levels directly. The admin
runs imports in one transaction that rolls back on any row error (all or nothing).
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from import_export import fields, resources, widgets

from modules.core.models import Organization
from modules.inventory import selectors, services
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement, Warehouse
from modules.plans.models import TaxClass


class LookupWidget(widgets.ForeignKeyWidget):
    """A foreign key by a code column, resolved in a dict the resource preloads from scope."""

    def __init__(self, model, field, what):
        super().__init__(model, field)
        self.what, self.choices = what, {}

    def clean(self, value, row=None, **kwargs):
        key = str(value or "").strip().upper()
        if not key:
            return None
        try:
            return self.choices[key]
        except KeyError:
            raise ValueError(f"Unknown {self.what} {str(value).strip()!r}.") from None


class ChoiceWidget(widgets.Widget):
    """A choice by its value or its label, case-insensitive."""

    def __init__(self, choices):
        super().__init__()
        self.lookup = {str(k).lower(): k for k, _ in choices}
        self.lookup.update({str(label).lower(): k for k, label in choices})
        self.labels = dict(choices)

    def clean(self, value, row=None, **kwargs):
        key = str(value or "").strip().lower()
        if key not in self.lookup:
            raise ValueError(f"{value!r} is not one of: {', '.join(map(str, self.labels))}.")
        return self.lookup[key]

    def render(self, value, obj=None, **kwargs):
        return value


def _field(attribute, widget=None, column=None, **kw):
    return fields.Field(attribute=attribute, column_name=column or attribute, widget=widget, **kw)


class ScopedResource(resources.ModelResource):
    """Knows its user; `preload()` fills the lookup widgets from the user's scope."""

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user") or self.user
        if self.user is None:
            raise PermissionDenied("An import needs the importing user.")
        self.file_name = kwargs.get("file_name") or "file"
        self.preload()

    def preload(self):
        pass

    def lookup(self, name, objects, key):
        self.fields[name].widget.choices = {str(getattr(o, key)).upper(): o for o in objects}


class ProductResource(ScopedResource):
    organization = _field("organization", LookupWidget(Organization, "code", "organization"))
    category = _field("category", ChoiceWidget(Product.Category.choices))
    unit = _field("unit", ChoiceWidget(Product.Unit.choices))
    tax_class = _field("tax_class", LookupWidget(TaxClass, "name", "tax class"))

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = ["sku", "name", "category", "unit", "is_serialized", "purchase_price",
                  "sale_price", "tax_class", "reorder_level", "is_active", "organization"]
        clean_model_instances = True

    def preload(self):
        orgs = list(selectors.scoped_organizations(self.user))
        self.lookup("organization", orgs, "code")
        tenants = {o.tenant_id for o in orgs}
        self.lookup("tax_class", TaxClass.objects.filter(tenant_id__in=tenants), "name")
        self.taken = set(Product.objects.filter(tenant_id__in=tenants)
                         .exclude(organization__in=orgs).values_list("sku", flat=True))

    def get_queryset(self):
        return Product.objects.filter(organization__in=selectors.scoped_organizations(self.user))

    def import_instance(self, instance, row, **kwargs):
        was_serialized = instance.is_serialized if instance.pk else None
        super().import_instance(instance, row, **kwargs)
        instance.sku = (instance.sku or "").strip().upper()
        if instance.organization_id is None:
            instance.organization = self.user.organization
        instance.tenant_id = instance.organization.tenant_id
        if instance.pk is None and instance.sku in self.taken:
            raise ValidationError({"sku": "This SKU is already used by another organization."})
        if (was_serialized is not None and was_serialized != instance.is_serialized
                and instance.levels.filter(quantity__gt=0).exists()):
            raise ValidationError({"is_serialized": "Cannot change tracking of a stocked product."})

    def get_import_id_fields(self):
        return ["sku"]


class OpeningStockResource(ScopedResource):
    """Rows `location, sku, quantity, reference`: each is received through `services.receive`."""

    location = _field("destination", LookupWidget(Warehouse, "code", "location"), "location")
    sku = _field("product", LookupWidget(Product, "sku", "SKU"), "sku")
    quantity = _field("quantity", widgets.IntegerWidget())
    reference = _field("reference")

    class Meta:
        model = StockMovement
        fields = ["location", "sku", "quantity", "reference"]
        import_id_fields = []
        force_init_instance = True

    def preload(self):
        self.lookup("location", selectors.locations_for(self.user), "code")
        self.lookup("sku", selectors.usable_products(self.user).filter(is_serialized=False), "sku")

    def get_queryset(self):
        return StockMovement.objects.none()

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        sku = str(row.get("sku") or "").strip().upper()
        if instance.product_id is None:
            raise ValidationError({"product": "Give the product's SKU."})
        if instance.destination_id is None:
            raise ValidationError({"destination": "Give the location code."})
        if sku and instance.product.is_serialized:
            raise ValidationError({"product": "Serialized: import its units instead."})

    def do_instance_save(self, instance, is_create):
        try:
            movement = services.receive(
                actor=self.user, warehouse=instance.destination, product=instance.product,
                quantity=instance.quantity, reference=instance.reference or "Opening stock",
                note=f"Opening stock from {self.file_name}",
            )
        except (services.InventoryError, PermissionDenied) as refused:
            raise ValidationError({NON_FIELD_ERRORS: [str(refused)]}) from None
        instance.pk, instance.id = movement.pk, movement.pk


class StockLevelResource(resources.ModelResource):
    """Export of on-hand stock with its value at purchase price."""

    location = _field("warehouse__code", column="location")
    location_name = _field("warehouse__name", column="location_name")
    sku = _field("product__sku", column="sku")
    product = _field("product__name", column="product")
    reorder_level = _field("product__reorder_level", column="reorder_level")
    low = fields.Field(column_name="low")
    value = fields.Field(column_name="value")

    class Meta:
        model = StockLevel
        fields = ["location", "location_name", "sku", "product", "quantity", "reorder_level",
                  "low", "value"]

    def dehydrate_low(self, level):
        return "yes" if level.is_low else ""

    def dehydrate_value(self, level):
        return level.quantity * level.product.purchase_price


class SerialUnitResource(ScopedResource):
    """Rows `serial_number, mac_address, sku, location`; bulk-created, one journal entry each."""

    sku = _field("product", LookupWidget(Product, "sku", "SKU"), "sku")
    location = _field("warehouse", LookupWidget(Warehouse, "code", "location"), "location")
    status = _field("status", readonly=True)
    subscriber = _field("subscriber__username", column="subscriber", readonly=True)

    class Meta:
        model = SerialUnit
        fields = ["serial_number", "mac_address", "sku", "location", "status", "subscriber"]
        import_id_fields = []
        force_init_instance = True
        use_bulk = True
        batch_size = 2000
        skip_diff = True

    def preload(self):
        self.lookup("location", selectors.locations_for(self.user), "code")
        self.lookup("sku", selectors.usable_products(self.user).filter(is_serialized=True), "sku")
        self.seen_serials, self.seen_macs = set(), set()

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        tenant_ids = {w.tenant_id for w in self.fields["location"].widget.choices.values()}
        serials = [str(s).strip() for s in dataset["serial_number"] if s] if (
            "serial_number" in dataset.headers) else []
        macs = []
        if "mac_address" in dataset.headers:
            for raw in dataset["mac_address"]:
                try:
                    mac = services.normalize_mac(raw)
                except services.InventoryError:
                    continue
                if mac:
                    macs.append(mac)
        existing = SerialUnit.objects.filter(tenant_id__in=tenant_ids)
        self.taken = set()
        for i in range(0, max(len(serials), len(macs)), 5000):
            self.taken.update(existing.filter(serial_number__in=serials[i:i + 5000])
                              .values_list("serial_number", flat=True))
            self.taken.update(existing.filter(mac_address__in=macs[i:i + 5000])
                              .values_list("mac_address", flat=True))

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as invalid:
            errors = invalid.update_error_dict(errors)
        instance.serial_number = (instance.serial_number or "").strip()
        try:
            instance.mac_address = services.normalize_mac(instance.mac_address)
        except services.InventoryError as bad:
            errors["mac_address"] = [str(bad)]
        serial, mac = instance.serial_number, instance.mac_address
        if not serial:
            errors["serial_number"] = ["Give the serial number."]
        elif serial in self.taken or serial in self.seen_serials:
            errors["serial_number"] = [f"Serial number {serial} is already registered."]
        if mac and (mac in self.taken or mac in self.seen_macs):
            errors["mac_address"] = [f"MAC {mac} is already registered."]
        product, location = instance.product if instance.product_id else None, (
            instance.warehouse if instance.warehouse_id else None)
        if product is None and "product" not in errors:
            errors["product"] = ["Give the product's SKU."]
        if location is None and "warehouse" not in errors:
            errors["warehouse"] = ["Give the location code."]
        if product and location:
            try:
                services.check_product_at(product, location)
            except services.InventoryError as refused:
                errors["product"] = [str(refused)]
        if errors:
            raise ValidationError(errors)
        self.seen_serials.add(serial)
        if mac:
            self.seen_macs.add(mac)
        instance.tenant_id = product.tenant_id
        instance.organization_id = location.organization_id
        instance.status = SerialUnit.Status.IN_STOCK

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None,
                    result=None):
        units = list(self.create_instances)
        super().bulk_create(using_transactions, dry_run, raise_errors, batch_size, result)
        if units and all(u.pk for u in units):
            services.record_received_units(units, actor=self.user,
                                           reference=f"Import {self.file_name}"[:80])
