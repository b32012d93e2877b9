"""The reader's address behind a proxy, for django-axes (AXES_CLIENT_IP_CALLABLE)."""

from django.conf import settings


def client_address(request):
    """The address the proxies put in PROXY_CLIENT_IP_HEADER, else the connection's address."""
    # Each proxy appends the address it saw; entries before those came from the client and can
    # be forged, so the client's address is PROXY_COUNT entries from the end.
    header = "HTTP_" + settings.PROXY_CLIENT_IP_HEADER.upper().replace("-", "_")
    entries = [entry.strip() for entry in request.META.get(header, "").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) >= settings.PROXY_COUNT:
        return entries[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")
