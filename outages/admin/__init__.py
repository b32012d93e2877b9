"""The editors' screens: reference rows, incidents, their history, the source archive, the
status pages followed."""

from outages.admin import (  # noqa: F401  (registers the ModelAdmins)
    archive,
    incidents,
    reference,
    status_pages,
)
