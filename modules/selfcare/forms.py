from django import forms


class SignInForm(forms.Form):
    login = forms.CharField(max_length=150, label="Username or mobile")
    password = forms.CharField(max_length=128, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.RegexField(regex=r"^\d{6}$", label="Sign-in code",
                            error_messages={"invalid": "Enter the 6-digit code."})


class ContactForm(forms.Form):
    mobile = forms.CharField(max_length=20)
    email = forms.EmailField(required=False)


class PasswordForm(forms.Form):
    current = forms.CharField(label="Current password", widget=forms.PasswordInput)
    new = forms.CharField(label="New password", min_length=8, widget=forms.PasswordInput)
    confirm = forms.CharField(label="New password again", widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("new") and data.get("confirm") != data.get("new"):
            self.add_error("confirm", "The two new passwords differ.")
        return data


class TicketForm(forms.Form):
    category = forms.ModelChoiceField(queryset=None, required=False)
    summary = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False,
                                  max_length=5000)

    def __init__(self, *args, tenant_id=None, **kwargs):
        from modules.support.models import TicketCategory

        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = TicketCategory.objects.filter(tenant_id=tenant_id,
                                                                         is_active=True)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=5000)
