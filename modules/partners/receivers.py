"""The partners module's reactions to billing events, inside billing's money transaction."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from modules.billing import events
from modules.core.models import User
from modules.partners import commissions, wallets
from modules.partners.models import Partner
from modules.partners.profiles import GROUP_PREFIX


@receiver(events.plan_sold, dispatch_uid="partners.charge_sale")
def charge_partner_for_sale(sender, subscriber, plan, action, actor, **kwargs):
    """A partner's sale debits its wallet at partner price (refusal rolls the sale back); a sale
    of a batch is charged with the batch (`charge_partners_for_sales`)."""
    if kwargs.get("batch"):
        return
    wallets.charge_sale(subscriber, plan, action=action, actor=actor)


@receiver(events.plans_sold, dispatch_uid="partners.charge_sales")
def charge_partners_for_sales(sender, sales, action, actor, **kwargs):
    """A batch of sales debits each selling partner's wallet at partner price, once per sale."""
    wallets.charge_sales(sales, action=action, actor=actor)


@receiver(events.payment_received, dispatch_uid="partners.credit_commissions")
def credit_commissions(sender, payment, actor, **kwargs):
    commissions.credit_commissions(payment, actor=actor)


@receiver(events.payment_cancelled, dispatch_uid="partners.reverse_commissions")
def reverse_commissions(sender, payment, actor, **kwargs):
    commissions.reverse_commissions(payment, actor=actor)


@receiver(post_save, sender=User, dispatch_uid="partners.user_joins_partner_group")
def user_joins_partner_group(sender, instance, raw=False, **kwargs):
    """Every user of a partner's organization holds the partner's object grants (its group)."""
    if raw:
        return
    partner = (Partner.objects.filter(organization_id=instance.organization_id).first()
               if instance.organization_id else None)
    wanted = partner.access_group_id if partner else None
    stale = instance.groups.filter(name__startswith=GROUP_PREFIX).exclude(pk=wanted)
    if stale.exists():
        instance.groups.remove(*stale)
    if wanted and not instance.groups.filter(pk=wanted).exists():
        instance.groups.add(wanted)
