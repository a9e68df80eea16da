"""Tenants, the organization tree, portal users and roles.

An ISP tenant is the root of its own organization tree; partners (distributors, resellers,
LCOs) and branches are nodes below it at any depth. The tree is a materialized path, so
"everything in my subtree" is one indexed prefix predicate.
"""

from django.contrib.auth.models import AbstractUser, Permission, UserManager
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Upper
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from treebeard.mp_tree import MP_Node


class Tenant(models.Model):
    """An ISP. One per deployment by default; each has its own domains, settings and tree."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def root(self) -> "Organization":
        return Organization.objects.get(tenant=self, depth=1)


class TenantDomain(models.Model):
    """A host name that resolves to a tenant (subdomain of the hosting domain or custom)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class Organization(MP_Node):
    """A node of a tenant's tree: the ISP itself (root), a partner or a branch."""

    class Kind(models.TextChoices):
        ISP = "isp", "ISP"
        DISTRIBUTOR = "distributor", "Distributor"
        RESELLER = "reseller", "Reseller"
        LCO = "lco", "LCO"
        BRANCH = "branch", "Branch"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="organizations")
    name = models.CharField(max_length=150)
    code = models.SlugField(max_length=40, help_text="Short code, unique within the tenant.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LCO)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    node_order_by = ["name"]

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="org_code_unique_in_tenant"),
        ]
        indexes = [
            # Prefix (subtree) lookups on any collation.
            models.Index(OpClass("path", name="varchar_pattern_ops"), name="org_path_prefix_idx"),
            models.Index(Upper("name"), name="org_name_upper_idx"),
        ]
        permissions = [
            ("access_organization", "Can act within this organization's subtree"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_partner(self) -> bool:
        return self.depth > 1 and self.kind != self.Kind.BRANCH

    def contains(self, other: "Organization") -> bool:
        """True when `other` is this node or below it."""
        return other.tenant_id == self.tenant_id and other.path.startswith(self.path)


class OrganizationUserGrant(UserObjectPermissionBase):
    """Direct-FK guardian table: a user's scope grants on organization nodes."""

    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "organization grant"


class OrganizationGroupGrant(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "organization group grant"


class Role(models.Model):
    """A named set of permissions (Billing Agent, Support Agent, NOC, ...), per tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=255, blank=True)
    permissions = models.ManyToManyField(Permission, blank=True, related_name="roles")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="role_name_unique_in_tenant"),
        ]

    def __str__(self):
        return self.name


class PortalUserManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractUser):
    """A portal user: ISP admin, partner user or employee. Subscribers are not users."""

    class Kind(models.TextChoices):
        ISP_ADMIN = "isp_admin", "ISP admin"
        PARTNER = "partner", "Partner user"
        EMPLOYEE = "employee", "Employee"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.EMPLOYEE)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="Home organization: new records belong here unless another node is picked.",
    )
    roles = models.ManyToManyField(Role, blank=True, related_name="users")
    phone = models.CharField(max_length=20, blank=True)

    objects = PortalUserManager()

    class Meta:
        ordering = ["username"]
        indexes = [models.Index(Upper("username"), name="user_username_upper_idx")]

    @property
    def tenant_id(self):
        return self.organization.tenant_id if self.organization_id else None

    def save(self, *args, **kwargs):
        # Every active portal user signs in to the admin-based portal.
        self.is_staff = self.is_active
        super().save(*args, **kwargs)
