"""The reader's address behind a proxy, for django-axes (AXES_CLIENT_IP_CALLABLE)."""

from django.conf import settings


def client_address(request):
    """The address the proxy put in PROXY_CLIENT_IP_HEADER, else the connection's address.

    Entries before the proxy's own come from the client and can be forged, so the address is
    taken PROXY_COUNT entries from the end, where the trusted proxies wrote it.
    """
    header = "HTTP_" + settings.PROXY_CLIENT_IP_HEADER.upper().replace("-", "_")
    entries = [entry.strip() for entry in request.META.get(header, "").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) >= settings.PROXY_COUNT:
        return entries[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")
