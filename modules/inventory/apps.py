from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "modules.inventory"
    label = "inventory"
    verbose_name = "Inventory"
