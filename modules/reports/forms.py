"""The filter form every report shares: a date range and an organization of the user's scope."""

from django import forms
from unfold.widgets import DATETIME_CLASSES, SELECT_CLASSES

from modules.core import scope
from modules.reports.models import Report

_DATE = {"type": "date", "class": " ".join(DATETIME_CLASSES)}


class ReportFilterForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"))
    organization = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All of my organizations",
        widget=forms.Select(attrs={"class": " ".join(SELECT_CLASSES)}),
        help_text="Narrow the report to one node and everything below it.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices come from the user's scope only: other branches' names never reach the page.
        self.fields["organization"].queryset = scope.allowed_organizations(user).order_by("path")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start day must be on or before the end day.")
        return data


class ExportForm(ReportFilterForm):
    file_format = forms.ChoiceField(choices=Report.Format.choices)
