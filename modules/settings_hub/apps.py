from django.apps import AppConfig


class SettingsHubConfig(AppConfig):
    name = "modules.settings_hub"
    label = "settings_hub"
    verbose_name = "Settings"
