"""Forms of the subscriber pages: the create/edit form and the service-action dialogs.

Every choice (plans, organizations) comes from the acting user's scope.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminPasswordWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from modules.core import scope
from modules.plans.models import Plan
from modules.plans.selectors import available_to_organization, sellable_plans
from modules.subscribers import services
from modules.subscribers.models import Subscriber
from modules.subscribers.validation import tenant_region

ITEM_TYPES = [Plan.Type.ADDON, Plan.Type.TOPUP, Plan.Type.OTT, Plan.Type.BOOSTER]


class SubscriberForm(forms.ModelForm):
    password = forms.CharField(
        required=False, strip=False, widget=UnfoldAdminPasswordWidget(render_value=False),
        help_text="The RADIUS password; stored encrypted, never shown again after saving.",
    )

    class Meta:
        model = Subscriber
        fields = [
            "organization", "username", "name", "mobile", "email", "address", "area", "city",
            "state", "pincode", "tax_number", "plan", "auto_renew", "connection_type", "nas_ip",
            "mac_address", "bind_mac_on_first_login", "ip_pool_name", "static_ipv4", "ipv6_prefix",
            "simultaneous_use", "cpe", "speed_override_down_kbps", "speed_override_up_kbps",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields and self.instance.pk is None:
            self.fields["password"].required = True

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if org is None:
            return cleaned
        identity = {k: cleaned[k] for k in ("mobile", "mac_address", "email", "static_ipv4",
                                            "nas_ip", "ipv6_prefix") if k in cleaned}
        try:
            cleaned.update(services.normalize_identity(identity, org.tenant_id))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field, messages)
        plan = cleaned.get("plan")
        if plan is not None and self.instance.pk is None and not (
                available_to_organization(org).filter(pk=plan.pk).exists()):
            self.add_error("plan", f"{org} may not sell {plan}.")
        return cleaned


# Service-action dialogs ----------------------------------------------------------------------
def _text(label, required=False, help_text=""):
    return forms.CharField(label=label, required=required, max_length=255, help_text=help_text,
                           widget=UnfoldAdminTextInputWidget())


class ReasonDialog(BaseDialogForm):
    reason = _text("Reason", help_text="Kept in the status history.")


class RequiredReasonDialog(BaseDialogForm):
    reason = _text("Reason", required=True, help_text="Kept in the status history.")


class ConfirmDialog(BaseDialogForm):
    pass


class _PlanDialog(BaseDialogForm):
    plan_types = [Plan.Type.BROADBAND]
    plan_required = True

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        plans = sellable_plans(request.user).filter(plan_type__in=self.plan_types)
        self.fields["plan"] = forms.ModelChoiceField(
            queryset=plans.order_by("plan_type", "price", "name"), required=self.plan_required,
            widget=UnfoldAdminSelectWidget(),
            empty_label="The current plan" if not self.plan_required else "---------",
        )
        self.order_fields(["plan", "reason"])


class RenewDialog(_PlanDialog):
    plan_required = False
    reason = _text("Reason")


class ChangePlanDialog(_PlanDialog):
    reason = _text("Reason")


class AddItemDialog(_PlanDialog):
    plan_types = ITEM_TYPES


class ExtendDialog(BaseDialogForm):
    days = forms.IntegerField(min_value=1, max_value=services.MAX_EXTENSION_DAYS,
                              widget=UnfoldAdminIntegerFieldWidget())
    reason = _text("Reason", required=True, help_text="E.g. outage credit, goodwill.")


class MoveDialog(BaseDialogForm):
    reason = _text("Reason")

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        self.fields["organization"] = forms.ModelChoiceField(
            queryset=scope.allowed_organizations(request.user).filter(is_active=True)
            .order_by("path"), widget=UnfoldAdminSelectWidget(),
        )
        self.order_fields(["organization", "reason"])


class ResetPasswordDialog(BaseDialogForm):
    new_password = forms.CharField(
        required=False, min_length=6, strip=False, widget=UnfoldAdminTextInputWidget(),
        help_text="Leave empty to generate one. It is shown once.",
    )


class RevealDialog(BaseDialogForm):
    reason = _text("Why do you need it?", required=True,
                   help_text="The reveal is recorded with your name.")


class NoteDialog(BaseDialogForm):
    note = _text("Note", help_text="Shown to the subscriber for a rejection.")


class RequiredNoteDialog(BaseDialogForm):
    note = _text("Note", required=True, help_text="What the subscriber must upload again.")


# Bulk actions (changelist selection) ---------------------------------------------------------
class BulkSuspendForm(forms.Form):
    reason = _text("Reason", required=True)


class BulkExtendForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=services.MAX_EXTENSION_DAYS,
                              widget=UnfoldAdminIntegerFieldWidget())
    reason = _text("Reason", required=True)


class BulkMoveForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, widget=UnfoldAdminSelectWidget())
    reason = _text("Reason")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = (
            scope.allowed_organizations(user).filter(is_active=True).order_by("path"))


def region_of(user) -> str:
    return tenant_region(user.organization.tenant_id if user.organization_id else None)
