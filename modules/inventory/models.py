"""Inventory: the product catalogue, stock locations, the stock journal and serialized units.

`StockMovement` is the append-only journal (a database trigger refuses UPDATE and DELETE);
`StockLevel` is its running sum per product per location, kept in the same transaction by
`services.py`, so the two can never disagree. Quantities are whole units (pieces, metres,
boxes). Only `services.py` writes these tables.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from modules.core.models import Organization, Tenant
from modules.plans.models import TaxClass
from modules.subscribers.models import Subscriber

_money = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


class Product(models.Model):
    """A stock item: serialized (ONT, router: tracked unit by unit) or counted (cable, clamps)."""

    class Category(models.TextChoices):
        ONT = "ont", "ONT / ONU"
        ROUTER = "router", "Router / CPE"
        SWITCH = "switch", "Switch"
        OLT = "olt", "OLT"
        CABLE = "cable", "Cable"
        FIBRE_ACCESSORY = "fibre_accessory", "Fibre accessories"
        SPLITTER = "splitter", "Splitter"
        POWER = "power", "Power and UPS"
        TOOL = "tool", "Tools"
        OTHER = "other", "Other"

    class Unit(models.TextChoices):
        PIECE = "piece", "Piece"
        METRE = "metre", "Metre"
        BOX = "box", "Box"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="products",
        help_text="Owner of the catalogue entry; stock of it may be kept by this node and below.",
    )
    sku = models.CharField("SKU", max_length=40, help_text="Unique within the ISP.")
    name = models.CharField(max_length=150)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.PIECE)
    is_serialized = models.BooleanField(
        "serialized", default=False, help_text="Tracked unit by unit, with serial number and MAC."
    )
    purchase_price = models.DecimalField(default=Decimal("0"), **_money)
    sale_price = models.DecimalField(default=Decimal("0"), **_money)
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    reorder_level = models.PositiveIntegerField(
        default=0, help_text="A store holding less than this is flagged as low on stock."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="inv_product_sku_unique"),
            models.CheckConstraint(condition=~Q(is_serialized=True) | Q(unit="piece"),
                                   name="inv_serialized_is_piece"),
        ]
        indexes = [models.Index(Upper("name"), name="inv_product_name_upper_idx")]
        permissions = [("import_product", "Can import products"),
                       ("export_product", "Can export products")]

    def __str__(self):
        return f"{self.name} ({self.sku})"

    def save(self, *args, **kwargs):
        self.sku = self.sku.strip().upper()
        if self.organization_id:
            self.tenant_id = self.organization.tenant_id
        super().save(*args, **kwargs)


class Warehouse(models.Model):
    """A stock location: a store of an organization, or a technician's personal stock."""

    class Kind(models.TextChoices):
        STORE = "store", "Store"
        TECHNICIAN = "technician", "Technician stock"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="warehouses")
    code = models.SlugField(max_length=40, help_text="Short code, unique within the ISP.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STORE)
    technician = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="stock_location", help_text="Only for a technician's personal stock.",
    )
    address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="inv_warehouse_code_unique"),
            models.CheckConstraint(
                condition=Q(kind="technician", technician__isnull=False)
                | Q(kind="store", technician__isnull=True),
                name="inv_technician_location_has_technician",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.organization_id:
            self.tenant_id = self.organization.tenant_id
        super().save(*args, **kwargs)


class StockLevel(models.Model):
    """On-hand quantity of a product at a location: the running sum of the journal."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="levels")
    quantity = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["warehouse", "product"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="inv_level_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="inv_level_not_negative"),
        ]
        indexes = [models.Index(fields=["product", "warehouse"], name="inv_level_product_idx")]
        permissions = [
            ("import_stocklevel", "Can import opening stock"),
            ("export_stocklevel", "Can export stock levels"),
            ("view_all_stock", "Can see every stock location in scope, not only one's own"),
        ]

    def __str__(self):
        return f"{self.product} at {self.warehouse}: {self.quantity}"

    @property
    def is_low(self) -> bool:
        return self.quantity < self.product.reorder_level


class SerialUnit(models.Model):
    """One serialized unit (an ONT, a router): where it is now; its history is the journal."""

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        INSTALLED = "installed", "Installed at subscriber"
        WRITTEN_OFF = "written_off", "Written off"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="units")
    serial_number = models.CharField(max_length=64)
    mac_address = models.CharField("MAC address", max_length=17, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_STOCK)
    # The organization holding the unit now (its location's or subscriber's): the scope key.
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="units")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="equipment")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "serial_number"],
                                    name="inv_unit_serial_unique"),
            models.UniqueConstraint(fields=["tenant", "mac_address"], name="inv_unit_mac_unique",
                                    condition=Q(mac_address__isnull=False)),
            models.CheckConstraint(
                condition=Q(status="in_stock", warehouse__isnull=False, subscriber__isnull=True)
                | Q(status="installed", warehouse__isnull=True, subscriber__isnull=False)
                | Q(status="written_off", warehouse__isnull=True, subscriber__isnull=True),
                name="inv_unit_location_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "product"], name="inv_unit_location_idx"),
            models.Index(fields=["subscriber"], name="inv_unit_subscriber_idx"),
            models.Index(Upper("serial_number"), name="inv_unit_serial_upper_idx"),
        ]
        permissions = [("import_serialunit", "Can import serial units"),
                       ("export_serialunit", "Can export serial units")]

    def __str__(self):
        return self.serial_number

    @property
    def location(self):
        return self.warehouse or self.subscriber


class StockMovement(models.Model):
    """One entry of the append-only stock journal: what moved, from where, to where, who, why."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", "Receive from supplier"
        TRANSFER = "transfer", "Transfer"
        ISSUE = "issue", "Issue to technician"
        RETURN = "return", "Return from technician"
        INSTALL = "install", "Install at subscriber"
        RECOVER = "recover", "Recover from subscriber"
        WRITE_OFF = "write_off", "Write-off"
        ADJUST = "adjust", "Count adjustment"

    class WriteOffReason(models.TextChoices):
        DAMAGED = "damaged", "Damaged"
        LOST = "lost", "Lost"
        FAULTY = "faulty", "Faulty, not repairable"
        OTHER = "other", "Other"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    quantity = models.PositiveIntegerField()
    serial_unit = models.ForeignKey(SerialUnit, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="movements")
    source = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="outgoing")
    destination = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="incoming")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="stock_movements")
    write_off_reason = models.CharField(max_length=10, choices=WriteOffReason.choices, blank=True)
    reference = models.CharField(
        max_length=80, blank=True, help_text="Supplier invoice, ticket or field-visit number."
    )
    note = models.CharField("why", max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inv_move_quantity_positive"),
            models.CheckConstraint(condition=Q(serial_unit__isnull=True) | Q(quantity=1),
                                   name="inv_move_unit_is_one"),
            models.CheckConstraint(
                condition=Q(source__isnull=True) | Q(destination__isnull=True)
                | ~Q(source=F("destination")),
                name="inv_move_source_not_destination",
            ),
            models.CheckConstraint(
                condition=Q(kind="receive", source__isnull=True, destination__isnull=False,
                            subscriber__isnull=True)
                | Q(kind__in=["transfer", "issue", "return"], source__isnull=False,
                    destination__isnull=False, subscriber__isnull=True)
                | Q(kind="install", source__isnull=False, destination__isnull=True,
                    subscriber__isnull=False)
                | Q(kind="recover", source__isnull=True, destination__isnull=False,
                    subscriber__isnull=False)
                | Q(kind="write_off", source__isnull=False, destination__isnull=True,
                    subscriber__isnull=True)
                & ~Q(write_off_reason="")
                | Q(kind="adjust", subscriber__isnull=True)
                & (Q(source__isnull=True, destination__isnull=False)
                   | Q(source__isnull=False, destination__isnull=True)),
                name="inv_move_shape_matches_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "-created_at"], name="inv_move_product_idx"),
            models.Index(fields=["subscriber", "product"], name="inv_move_subscriber_idx"),
        ]
        permissions = [
            ("receive_stock", "Can receive stock from suppliers"),
            ("transfer_stock", "Can transfer stock between locations"),
            ("issue_stock", "Can issue stock to and take it back from technicians"),
            ("install_stock", "Can install stock at and recover it from subscribers"),
            ("write_off_stock", "Can write off stock"),
            ("adjust_stock", "Can adjust stock after a count"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity} x {self.product.sku}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("The stock journal is append-only; record a new movement instead.")
        super().save(*args, **kwargs)
