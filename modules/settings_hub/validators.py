"""Password policy from the tenant's Security settings."""

import string

from django.core.exceptions import ValidationError

from modules.core.tenancy import default_tenant
from modules.settings_hub.selectors import security_settings


class TenantPasswordPolicyValidator:
    def _policy(self, user):
        org = getattr(user, "organization", None) if user is not None else None
        return security_settings(org.tenant if org is not None else default_tenant())

    def validate(self, password, user=None):
        policy = self._policy(user)
        problems = []
        if len(password) < policy.min_password_length:
            problems.append(f"at least {policy.min_password_length} characters")
        if policy.require_uppercase and not any(c.isupper() for c in password):
            problems.append("an uppercase letter")
        if policy.require_digit and not any(c.isdigit() for c in password):
            problems.append("a digit")
        if policy.require_symbol and not any(c in string.punctuation for c in password):
            problems.append("a symbol")
        if problems:
            raise ValidationError(
                "The password must contain " + ", ".join(problems) + ".",
                code="password_policy",
            )

    def get_help_text(self):
        return "Your password must follow your organization's password policy."
