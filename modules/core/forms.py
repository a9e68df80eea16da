from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError


class PortalLoginForm(AdminAuthenticationForm):
    """One sign-in for ISP admins, partners and employees, with a clear refusal for each case."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "inactive": "This account is disabled. Contact your administrator.",
        "no_role": "This account has no role yet. Ask your administrator to assign one.",
        "wrong_tenant": "Please enter the correct username and password for this portal.",
    }

    def confirm_login_allowed(self, user):
        if not user.is_active:
            raise ValidationError(self.error_messages["inactive"], code="inactive")
        if user.is_superuser:
            return
        tenant = getattr(self.request, "tenant", None)
        if tenant is None or user.organization is None or user.organization.tenant_id != tenant.pk:
            # Same message as a wrong password: another tenant's usernames are not disclosed.
            raise ValidationError(self.error_messages["wrong_tenant"], code="wrong_tenant")
        if not user.roles.exists():
            raise ValidationError(self.error_messages["no_role"], code="no_role")
