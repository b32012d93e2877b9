from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemaps
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView, TemplateView

from outages.page_cache import INCIDENTS, cached
from outages.web.media import figure_file
from outages.web.sitemaps import SITEMAPS

from . import health

admin.site.site_header = "postmortems editing"
admin.site.site_title = "postmortems"
admin.site.index_title = "Incidents and their sources"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(
        "sitemap.xml",
        cached(lambda kwargs: INCIDENTS)(sitemaps.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        cached(lambda kwargs: INCIDENTS)(sitemaps.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain"),
        name="robots_txt",
    ),
    # Figures are served by the app in development and production alike (outages.web.media).
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", figure_file, name="media"),
    # Browsers and feed readers that never read a page's <link rel="icon"> still ask for
    # /favicon.ico. Not a permanent redirect: the icon's static address changes with its content.
    path(
        "favicon.ico",
        cache_control(max_age=86400)(RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
        name="favicon",
    ),
    path("", include("outages.web.urls")),
]

handler500 = "postmortems.health.server_error"
