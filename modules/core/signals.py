from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from modules.core.models import Tenant, TenantDomain
from modules.core.tenancy import forget_cached_hosts


@receiver([post_save, post_delete], sender=TenantDomain)
@receiver([post_save, post_delete], sender=Tenant)
def _tenant_hosts_changed(**kwargs):
    forget_cached_hosts()
