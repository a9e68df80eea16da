from django.apps import AppConfig


class RadiusServerConfig(AppConfig):
    name = "radius_server"
    verbose_name = "RADIUS server"
