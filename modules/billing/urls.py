from django.urls import path

from modules.billing import views

URL_PREFIX = "billing/"
app_name = "billing"

urlpatterns = [
    path("webhooks/<int:gateway_id>/", views.gateway_webhook, name="webhook"),
]
