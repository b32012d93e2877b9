"""The editors' screens: reference rows, incidents, their history, the status pages followed."""

from outages.admin import incidents, reference, status_pages  # noqa: F401  (registers the ModelAdmins)
