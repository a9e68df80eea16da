"""Top-level operational pages; OpsMiddleware serves the same views earlier in the chain."""

from django.urls import path

from modules.ops import views

URL_PREFIX = ""

urlpatterns = [
    path("health", views.health, name="ops-health"),
    path("metrics", views.metrics, name="ops-metrics"),
]
