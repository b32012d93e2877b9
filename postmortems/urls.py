from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "postmortems editing"
admin.site.site_title = "postmortems"
admin.site.index_title = "Incidents and their sources"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("outages.urls")),
]
