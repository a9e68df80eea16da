"""Forms of the stock movement pages: choices come from the user's scope, work from services.

Each form's `perform(actor)` calls one service function; refusals (InventoryError,
PermissionDenied) are shown on the form by the admin view.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from modules.core.models import User
from modules.inventory import selectors, services
from modules.inventory.models import SerialUnit, StockMovement, Warehouse
from modules.subscribers.models import Subscriber

_text = {"widget": UnfoldAdminTextInputWidget}


def _location(label="Location"):
    return forms.ModelChoiceField(queryset=Warehouse.objects.none(), label=label,
                                  widget=UnfoldAdminSelectWidget)


class MovementForm(forms.Form):
    """Shared fields: product or serial number, quantity, reference and why."""

    product = forms.ModelChoiceField(queryset=None, required=False, widget=UnfoldAdminSelectWidget,
                                     help_text="Not needed when a serial number is given.")
    serial_number = forms.CharField(required=False, max_length=64, **_text,
                                    help_text="For serialized products (ONT, router).")
    quantity = forms.IntegerField(min_value=1, initial=1, widget=UnfoldAdminIntegerFieldWidget)
    reference = forms.CharField(required=False, max_length=80, **_text)
    note = forms.CharField(label="Why", required=False, max_length=255, **_text)

    location_fields: dict[str, dict] = {}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["product"].queryset = selectors.usable_products(user).filter(is_active=True)
        locations = selectors.locations_for(user).select_related("organization")
        for name, filters in self.location_fields.items():
            self.fields[name].queryset = locations.filter(**filters)
        self.order_fields([*self.location_fields, "technician", "subscriber", "product",
                          "serial_number", "quantity", "serial_numbers", "counted"])

    def clean(self):
        cleaned = super().clean()
        serial = (cleaned.get("serial_number") or "").strip()
        unit = None
        if serial:
            orgs = selectors.scoped_organizations(self.user)
            unit = (SerialUnit.objects.select_related("product")
                    .filter(serial_number=serial, organization__in=orgs).first())
            if unit is None:
                raise ValidationError({"serial_number": "No unit with this serial number."})
            if cleaned.get("product") and cleaned["product"].pk != unit.product_id:
                raise ValidationError({"serial_number": "This unit is another product."})
            cleaned["product"] = unit.product
            cleaned["quantity"] = 1
        elif cleaned.get("product") is None:
            raise ValidationError({"product": "Choose a product or give a serial number."})
        cleaned["serial_unit"] = unit
        return cleaned

    def common(self):
        c = self.cleaned_data
        return {"product": c["product"], "quantity": c["quantity"],
                "serial_unit": c["serial_unit"], "reference": c.get("reference", "")}


class SubscriberField(forms.CharField):
    """A subscriber by username, looked up in the user's scope (the list is too big for a menu)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, label="Subscriber username", **_text, **kwargs)


def _subscriber(user, username: str) -> Subscriber:
    found = (Subscriber.objects.filter(username=username.strip(),
                                       organization__in=selectors.scoped_organizations(user))
             .select_related("organization").first())
    if found is None:
        raise ValidationError({"subscriber": "No subscriber with this username."})
    return found


def _technicians(user):
    return (User.objects.filter(is_active=True,
                                organization__in=selectors.scoped_organizations(user))
            .order_by("username"))


class ReceiveForm(MovementForm):
    warehouse = _location("Store")
    serial_numbers = forms.CharField(
        required=False, widget=UnfoldAdminTextareaWidget,
        help_text="Serialized products: one unit per line, `serial` or `serial,MAC`.",
    )
    location_fields = {"warehouse": {"kind": Warehouse.Kind.STORE}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["serial_number"]
        self.fields["reference"].required = True
        self.fields["reference"].help_text = "Supplier invoice or delivery note number."

    def clean(self):
        cleaned = forms.Form.clean(self)
        if cleaned.get("product") is None:
            raise ValidationError({"product": "Choose a product."})
        cleaned["units"] = [
            (parts[0].strip(), parts[1].strip() if len(parts) > 1 else None)
            for line in (cleaned.get("serial_numbers") or "").splitlines() if line.strip()
            for parts in [line.split(",")]
        ]
        return cleaned

    def perform(self, actor):
        c = self.cleaned_data
        if c["product"].is_serialized:
            return services.receive_units(actor=actor, warehouse=c["warehouse"],
                                          product=c["product"], units=c["units"],
                                          reference=c["reference"], note=c["note"])
        return services.receive(actor=actor, warehouse=c["warehouse"], product=c["product"],
                                quantity=c["quantity"], reference=c["reference"], note=c["note"])


class TransferForm(MovementForm):
    source = _location("From")
    destination = _location("To")
    location_fields = {"source": {}, "destination": {}}

    def perform(self, actor):
        c = self.cleaned_data
        return services.transfer(actor=actor, source=c["source"], destination=c["destination"],
                                 note=c["note"], **self.common())


class IssueForm(MovementForm):
    source = _location("From store")
    technician = forms.ModelChoiceField(queryset=User.objects.none(),
                                        widget=UnfoldAdminSelectWidget)
    location_fields = {"source": {"kind": Warehouse.Kind.STORE}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = _technicians(self.user)

    def perform(self, actor):
        c = self.cleaned_data
        return services.issue_to_technician(actor=actor, source=c["source"],
                                            technician=c["technician"], note=c["note"],
                                            **self.common())


class ReturnForm(MovementForm):
    technician = forms.ModelChoiceField(queryset=User.objects.none(),
                                        widget=UnfoldAdminSelectWidget)
    destination = _location("To store")
    location_fields = {"destination": {"kind": Warehouse.Kind.STORE}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = _technicians(self.user).filter(
            stock_location__isnull=False)

    def perform(self, actor):
        c = self.cleaned_data
        return services.return_from_technician(actor=actor, technician=c["technician"],
                                               destination=c["destination"], note=c["note"],
                                               **self.common())


class InstallForm(MovementForm):
    source = _location("From")
    subscriber = SubscriberField()
    location_fields = {"source": {}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["note"]
        self.fields["reference"].help_text = "Ticket or field-visit number."

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("subscriber"):
            cleaned["subscriber"] = _subscriber(self.user, cleaned["subscriber"])
        return cleaned

    def perform(self, actor):
        c = self.cleaned_data
        return services.install_at_subscriber(actor=actor, source=c["source"],
                                              subscriber=c["subscriber"], **self.common())


class RecoverForm(MovementForm):
    subscriber = SubscriberField()
    destination = _location("Into")
    location_fields = {"destination": {}}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("subscriber"):
            cleaned["subscriber"] = _subscriber(self.user, cleaned["subscriber"])
        return cleaned

    def perform(self, actor):
        c = self.cleaned_data
        return services.recover_from_subscriber(actor=actor, subscriber=c["subscriber"],
                                                destination=c["destination"], note=c["note"],
                                                **self.common())


class WriteOffForm(MovementForm):
    source = _location("From")
    reason = forms.ChoiceField(choices=StockMovement.WriteOffReason.choices,
                               widget=UnfoldAdminSelectWidget)
    location_fields = {"source": {}}

    def perform(self, actor):
        c = self.cleaned_data
        common = self.common()
        common.pop("reference")
        return services.write_off(actor=actor, source=c["source"], reason=c["reason"],
                                  note=c["note"], **common)


class AdjustForm(MovementForm):
    warehouse = _location("Location")
    counted = forms.IntegerField(min_value=0, widget=UnfoldAdminIntegerFieldWidget,
                                 help_text="What the count found on the shelf.")
    location_fields = {"warehouse": {}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("serial_number", "quantity", "reference"):
            del self.fields[name]
        self.fields["note"].required = True

    def clean(self):
        cleaned = forms.Form.clean(self)
        if cleaned.get("product") is None:
            raise ValidationError({"product": "Choose a product."})
        return cleaned

    def perform(self, actor):
        c = self.cleaned_data
        return services.adjust_count(actor=actor, warehouse=c["warehouse"], product=c["product"],
                                     counted=c["counted"], note=c["note"])


FORMS = {
    "receive": (ReceiveForm, "Receive stock", "inventory.receive_stock"),
    "transfer": (TransferForm, "Transfer stock", "inventory.transfer_stock"),
    "issue": (IssueForm, "Issue to technician", "inventory.issue_stock"),
    "return": (ReturnForm, "Return from technician", "inventory.issue_stock"),
    "install": (InstallForm, "Install at subscriber", "inventory.install_stock"),
    "recover": (RecoverForm, "Recover from subscriber", "inventory.install_stock"),
    "write-off": (WriteOffForm, "Write off stock", "inventory.write_off_stock"),
    "adjust": (AdjustForm, "Adjust after a count", "inventory.adjust_stock"),
}
