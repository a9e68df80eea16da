from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.contrib.contenttypes.models import ContentType
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from modules.core.models import Organization, Role, TenantDomain, User
from modules.settings_hub.models import (
    GeneralSettings,
    NotificationSettings,
    NotificationTemplate,
    SecuritySettings,
)
from tests.samples import sample

_counter = iter(range(1, 10**9))


def _n():
    return next(_counter)


@sample("core.tenant")
def tenant(org):
    return org.tenant


@sample("core.tenantdomain")
def tenant_domain(org):
    return TenantDomain.objects.create(tenant=org.tenant, domain=f"d{_n()}.{org.tenant.slug}.test")


@sample("core.organization")
def organization(org):
    return org


@sample("core.role")
def role(org):
    return Role.objects.create(tenant=org.tenant, name=f"Role {_n()}")


@sample("core.user")
def user(org):
    return User.objects.create(username=f"sample{_n()}", organization=org)


@sample("auditlog.logentry")
def log_entry(org):
    actor = User.objects.create(username=f"actor{_n()}", organization=org)
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Organization),
        object_pk=str(org.pk),
        object_repr=str(org),
        action=LogEntry.Action.UPDATE,
        actor=actor,
        remote_addr="10.0.0.1",
    )


@sample("django_celery_beat.periodictask")
def periodic_task(org):
    every = IntervalSchedule.objects.create(every=_n(), period=IntervalSchedule.MINUTES)
    return PeriodicTask.objects.create(
        name=f"job {_n()}", task="celery.backend_cleanup", interval=every
    )


@sample("django_celery_beat.intervalschedule")
def interval(org):
    return IntervalSchedule.objects.create(every=_n(), period=IntervalSchedule.SECONDS)


@sample("django_celery_beat.crontabschedule")
def crontab(org):
    return CrontabSchedule.objects.create(minute=str(_n() % 60), hour="3")


@sample("axes.accessattempt")
def access_attempt(org):
    return AccessAttempt.objects.create(
        username=f"locked{_n()}",
        ip_address="10.0.0.9",
        failures_since_start=3,
        get_data="",
        post_data="",
    )


def _settings(model, org, **extra):
    found = model.objects.filter(tenant=org.tenant).first()
    return found or model.objects.create(tenant=org.tenant, **extra)


@sample("settings_hub.generalsettings")
def general(org):
    return _settings(GeneralSettings, org, company_name=org.tenant.name)


@sample("settings_hub.securitysettings")
def security(org):
    return _settings(SecuritySettings, org)


@sample("settings_hub.notificationsettings")
def notifications(org):
    return _settings(NotificationSettings, org)


@sample("settings_hub.notificationtemplate")
def template(org):
    event = NotificationTemplate.Event.values[_n() % len(NotificationTemplate.Event.values)]
    found = NotificationTemplate.objects.filter(
        tenant=org.tenant, event=event, channel="sms"
    ).first()
    return found or NotificationTemplate.objects.create(
        tenant=org.tenant, event=event, channel="sms", body="Hello {{ name }}"
    )
