from django.urls import path

from . import views

app_name = "outages"

urlpatterns = [
    path("", views.home, name="home"),
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/<slug:slug>/", views.incident_detail, name="incident"),
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/<slug:slug>/", views.provider_detail, name="provider"),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/",
        views.service_detail,
        name="service",
    ),
    path("providers/<slug:provider_slug>/regions/<slug:code>/", views.region_detail, name="region"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<slug:slug>/", views.customer_detail, name="customer"),
]
