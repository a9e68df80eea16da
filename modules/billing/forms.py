"""Forms of the billing pages: service forms (record payment, credit note, proforma) and the
action dialogs. Every choice comes from the acting user's scope."""

from __future__ import annotations

from django import forms
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminPasswordWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from modules.billing.gateways import set_secrets
from modules.billing.models import Invoice, Payment, PaymentGateway, Proforma
from modules.core import scope
from modules.plans.selectors import sellable_plans
from modules.subscribers.models import Subscriber

PAYMENT_METHODS = [c for c in Payment.Method.choices if c[0] != Payment.Method.GATEWAY]


def _text(label, required=False, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=255,
        help_text=help_text,
        widget=UnfoldAdminTextInputWidget(),
    )


def _amount(label="Amount"):
    # Kept as text so the service can refuse too many decimals with its own clear message.
    return forms.CharField(label=label, max_length=20, widget=UnfoldAdminTextInputWidget())


def scoped_subscribers(user):
    return scope.restrict_to_scope(Subscriber.objects.all(), user, "organization")


class SubscriberField(forms.CharField):
    """A subscriber chosen by username within the user's scope (millions: no dropdown)."""

    def __init__(self, user, **kwargs):
        self.user = user
        super().__init__(
            label="Subscriber username",
            max_length=64,
            widget=UnfoldAdminTextInputWidget(),
            **kwargs,
        )

    def clean(self, value):
        username = super().clean(value).strip()
        found = scoped_subscribers(self.user).filter(username=username).first()
        if found is None:
            raise forms.ValidationError("No subscriber with this username in your scope.")
        return found


class RecordPaymentForm(forms.Form):
    amount = _amount()
    method = forms.ChoiceField(choices=PAYMENT_METHODS, widget=UnfoldAdminSelectWidget())
    reference = _text("Reference", help_text="Cheque number, bank UTR or UPI reference.")
    note = _text("Note")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscriber"] = SubscriberField(user)
        self.order_fields(["subscriber", "amount", "method", "reference", "note"])


class CreditNoteForm(forms.Form):
    amount = _amount()
    reason = _text("Reason", required=True)
    invoice_number = _text("Against invoice number", help_text="Optional.")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscriber"] = SubscriberField(user)
        self.order_fields(["subscriber", "invoice_number", "amount", "reason"])

    def clean(self):
        cleaned = super().clean()
        number, subscriber = cleaned.get("invoice_number"), cleaned.get("subscriber")
        cleaned["invoice"] = None
        if number and subscriber:
            cleaned["invoice"] = Invoice.objects.filter(
                subscriber=subscriber, number=number
            ).first()
            if cleaned["invoice"] is None:
                self.add_error("invoice_number", "This subscriber has no invoice with this number.")
        return cleaned


class ProformaForm(forms.Form):
    # A wallet recharge has no plan: self-care creates it (create_recharge_proforma).
    purpose = forms.ChoiceField(
        choices=[c for c in Proforma.Purpose.choices if c[0] != Proforma.Purpose.WALLET_RECHARGE],
        widget=UnfoldAdminSelectWidget(),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscriber"] = SubscriberField(user)
        self.fields["plan"] = forms.ModelChoiceField(
            queryset=sellable_plans(user).order_by("plan_type", "price", "name"),
            widget=UnfoldAdminSelectWidget(),
        )
        self.order_fields(["subscriber", "plan", "purpose"])


class ReasonDialog(BaseDialogForm):
    reason = _text("Reason", required=True)


class NoteDialog(BaseDialogForm):
    note = _text("Note")


class RequiredNoteDialog(BaseDialogForm):
    note = _text("Reason for rejecting", required=True)


class ConfirmDialog(BaseDialogForm):
    pass


class InvoicePaymentDialog(BaseDialogForm):
    amount = _amount()
    method = forms.ChoiceField(choices=PAYMENT_METHODS, widget=UnfoldAdminSelectWidget())
    reference = _text("Reference")


class ProformaPaymentDialog(BaseDialogForm):
    method = forms.ChoiceField(choices=PAYMENT_METHODS, widget=UnfoldAdminSelectWidget())
    reference = _text("Reference")


class AdjustmentDialog(BaseDialogForm):
    amount = forms.CharField(
        label="Amount (negative to debit)", max_length=20, widget=UnfoldAdminTextInputWidget()
    )
    memo = _text("Reason", required=True)


class PaymentGatewayForm(forms.ModelForm):
    """Secrets are write-only: stored encrypted, never shown, kept when left empty."""

    key_secret = forms.CharField(
        required=False,
        widget=UnfoldAdminPasswordWidget(),
        help_text="Leave empty to keep the stored secret.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=UnfoldAdminPasswordWidget(),
        help_text="Leave empty to keep the stored secret.",
    )

    class Meta:
        model = PaymentGateway
        fields = ["provider", "name", "key_id", "is_active"]

    def clean(self):
        cleaned = super().clean()
        if not self.instance.webhook_secret_encrypted and not cleaned.get("webhook_secret"):
            self.add_error("webhook_secret", "The webhook secret is needed to verify deliveries.")
        return cleaned

    def save(self, commit=True):
        set_secrets(
            self.instance,
            key_secret=self.cleaned_data.get("key_secret"),
            webhook_secret=self.cleaned_data.get("webhook_secret"),
        )
        return super().save(commit)
