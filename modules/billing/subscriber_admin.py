"""The subscriber page's paid service actions, charged per Settings -> Billing Engine.

Billing sits above subscribers, so the subscriber admin cannot call billing itself: this
subclass replaces the activate, renew, change-plan and add-item actions with their money-aware
versions (service change, invoice and wallet settlement in one transaction; a refusal leaves
neither behind) and is registered in place of the plain one.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from unfold.decorators import action

from modules.billing import orchestration
from modules.billing.money import BillingError
from modules.subscribers import admin as subscriber_admin
from modules.subscribers import forms
from modules.subscribers.models import Subscriber
from modules.subscribers.services import TransitionError

dialog, finish, scoped_object = (subscriber_admin.dialog, subscriber_admin.finish,
                                 subscriber_admin.scoped_object)


def charge_note(billed) -> str:
    invoice = getattr(billed, "invoice", None)
    if invoice is None:
        return ""
    if invoice.amount_due <= 0:
        return f" Invoice {invoice} ({invoice.total} {invoice.currency}) paid from the wallet."
    return f" Invoice {invoice}: {invoice.amount_due} {invoice.currency} due."


def run_charged(model_admin, request, operation, success: str):
    obj = request._service_object
    try:
        billed = operation(obj)
    except (BillingError, TransitionError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success.format(obj=obj) + charge_note(billed))
    opts = model_admin.model._meta
    return finish(request, reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                   args=[obj.pk]))


class ChargedSubscriberAdmin(subscriber_admin.SubscriberAdmin):
    @scoped_object
    @action(description="Activate", icon="play_arrow", permissions=["service"],
            dialog=dialog("Activate", forms.ReasonDialog,
                          "Validity starts now; the plan is invoiced per the billing settings."))
    def activate(self, request, form, object_id):
        return run_charged(self, request, lambda s: orchestration.activate_and_bill(
            s, actor=request.user, reason=form.cleaned_data["reason"]), "{obj} is active.")

    @scoped_object
    @action(description="Renew", icon="autorenew", permissions=["service"],
            dialog=dialog("Renew", forms.RenewDialog,
                          "One more validity period from the current expiry (or from now), "
                          "invoiced and settled from the wallet when it holds enough."))
    def renew(self, request, form, object_id):
        return run_charged(self, request, lambda s: orchestration.renew_and_bill(
            s, actor=request.user, plan=form.cleaned_data["plan"],
            reason=form.cleaned_data["reason"]), "{obj} renewed until {obj.expires_at:%d %b %Y}.")

    @scoped_object
    @action(description="Change plan", icon="swap_horiz", permissions=["service"],
            dialog=dialog("Change plan", forms.ChangePlanDialog,
                          "A running service restarts its validity on the new plan; the unused "
                          "part of the old one is prorated per the billing settings."))
    def change_plan(self, request, form, object_id):
        return run_charged(self, request, lambda s: orchestration.change_plan_and_bill(
            s, form.cleaned_data["plan"], actor=request.user,
            reason=form.cleaned_data["reason"]), "{obj} is now on {obj.plan}.")

    @scoped_object
    @action(description="Add top-up / booster / add-on", icon="add_circle",
            permissions=["service"],
            dialog=dialog("Add top-up, booster or add-on", forms.AddItemDialog, submit="Add"))
    def add_plan_item(self, request, form, object_id):
        return run_charged(self, request, lambda s: orchestration.add_plan_item_and_bill(
            s, form.cleaned_data["plan"], actor=request.user), "Added to {obj}.")


def install() -> None:
    """Serve the subscriber pages with the charged actions (idempotent)."""
    if isinstance(admin.site._registry.get(Subscriber), ChargedSubscriberAdmin):
        return
    if Subscriber in admin.site._registry:
        admin.site.unregister(Subscriber)
    admin.site.register(Subscriber, ChargedSubscriberAdmin)
