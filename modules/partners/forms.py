"""Forms of the partner pages. Every choice comes from the acting user's scope."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from unfold.forms import BaseDialogForm
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from modules.core import scope
from modules.partners.models import Partner, PlanShare, Settlement


def _text(label, required=False, help_text=""):
    return forms.CharField(label=label, required=required, max_length=255, help_text=help_text,
                           widget=UnfoldAdminTextInputWidget())


def _amount(label="Amount"):
    # Text, so the service refuses bad amounts (negative, too many decimals) with its own message.
    return forms.CharField(label=label, max_length=20, widget=UnfoldAdminTextInputWidget())


def partner_orgs(user):
    """Partner nodes in the user's scope (never the ISP root)."""
    return scope.allowed_organizations(user).filter(depth__gt=1).order_by("path")


def _org_field(user, label="Partner"):
    return forms.ModelChoiceField(queryset=partner_orgs(user), label=label,
                                  widget=UnfoldAdminSelectWidget())


class PartnerForm(forms.ModelForm):
    """The profile; on add also the new node's parent, name and code."""

    parent = forms.ModelChoiceField(queryset=None, required=False, widget=UnfoldAdminSelectWidget(),
                                    help_text="The organization the new partner sits below.")
    name = _text("Name")
    code = forms.SlugField(max_length=40, required=False, widget=UnfoldAdminTextInputWidget(),
                           help_text="Short code, unique within the ISP.")

    class Meta:
        model = Partner
        fields = ["partner_type", "status", "contact_name", "contact_phone", "contact_email",
                  "tax_number", "billing_state", "address", "default_commission_rate",
                  "commission_template", "credit_limit", "low_balance_threshold"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["parent"].queryset = scope.allowed_organizations(user).order_by("path")
        if self.instance.pk:
            for name in ("parent", "name", "code"):
                self.fields.pop(name)
        else:
            for name in ("parent", "name", "code"):
                self.fields[name].required = True

    def clean(self):
        from modules.partners.profiles import PROFILE_FIELDS, check_new_partner

        cleaned = super().clean()
        if self.instance.pk or self.errors:
            return cleaned
        profile = {k: cleaned[k] for k in PROFILE_FIELDS if k in cleaned and k != "partner_type"}
        try:
            check_new_partner(actor=self.user, parent=cleaned["parent"], code=cleaned["code"],
                              partner_type=cleaned.get("partner_type"), **profile)
        except (ValueError, PermissionDenied) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return cleaned


class TopUpForm(forms.Form):
    amount = _amount()
    note = _text("Note")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"] = _org_field(user)
        if user.organization_id and partner_orgs(user).filter(pk=user.organization_id).exists():
            self.fields["organization"].initial = user.organization_id
        self.order_fields(["organization", "amount", "note"])


class SettlementForm(forms.Form):
    amount = _amount()
    method = forms.ChoiceField(choices=Settlement.Method.choices, widget=UnfoldAdminSelectWidget())
    reference = _text("Payout reference", help_text=(
        "Fill in to record a payout made now (from above the partner); empty: a request."))
    note = _text("Note")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"] = _org_field(user)
        self.order_fields(["organization", "amount", "method", "reference", "note"])


class PlanShareForm(forms.ModelForm):
    partner_price = _amount("Partner price")
    selling_price = _amount("Selling price")
    commission_value = forms.CharField(max_length=20, required=False,
                                       widget=UnfoldAdminTextInputWidget())

    class Meta:
        model = PlanShare
        fields = ["plan", "organization", "partner_price", "selling_price", "commission_type",
                  "commission_value"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def _post_clean(self):
        # The service checks prices against the parent's cost and the sharer's place.
        from modules.partners.sharing import check_share

        if self.errors:
            return
        data = self.cleaned_data
        plan = self.instance.plan if self.instance.pk else data.get("plan")
        org = self.instance.organization if self.instance.pk else data.get("organization")
        if plan is None or org is None:
            return
        try:
            check_share(plan, org, actor=self.user, partner_price=data["partner_price"].strip(),
                        selling_price=data["selling_price"].strip(),
                        commission_type=data.get("commission_type") or "",
                        commission_value=(data.get("commission_value") or "").strip() or None)
        except (ValueError, PermissionDenied) as exc:
            self.add_error(None, str(exc))


class AmountDialog(BaseDialogForm):
    amount = _amount()
    memo = _text("Note")


class NoteDialog(BaseDialogForm):
    note = _text("Note")


class RequiredNoteDialog(BaseDialogForm):
    note = _text("Reason", required=True)


class PayoutDialog(BaseDialogForm):
    method = forms.ChoiceField(choices=Settlement.Method.choices, widget=UnfoldAdminSelectWidget())
    reference = _text("Bank UTR, UPI reference or cheque number", required=True)
