from django.urls import path

from modules.selfcare import views, views_billing

URL_PREFIX = "portal/"
app_name = "selfcare"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login", views.sign_in, name="login"),
    path("code", views.one_time_code, name="code"),
    path("logout", views.sign_out, name="logout"),
    path("usage", views.usage, name="usage"),
    path("profile", views.profile, name="profile"),
    path("profile/edit", views.profile_edit, name="profile-edit"),
    path("password", views.password, name="password"),
    path("tickets", views.tickets, name="tickets"),
    path("tickets/new", views.ticket_new, name="ticket-new"),
    path("tickets/<int:ticket_id>", views.ticket_detail, name="ticket"),
    path("billing", views_billing.billing, name="billing"),
    path("invoices/<int:invoice_id>/download", views_billing.invoice_download, name="invoice"),
    path("payments/<int:payment_id>/receipt", views_billing.receipt, name="receipt"),
    path("plans", views_billing.plans, name="plans"),
    path("renew", views_billing.renew, name="renew"),
    path("plans/<int:plan_id>/change", views_billing.change_plan, name="change-plan"),
    path("addons", views_billing.addons, name="addons"),
    path("addons/<int:plan_id>", views_billing.buy_addon, name="buy-addon"),
    path("pay", views_billing.pay_online, name="pay"),
    path("recharge", views_billing.recharge, name="recharge"),
]
