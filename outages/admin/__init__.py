"""The editors' screens: reference rows, incidents, their history."""

from outages.admin import incidents, reference  # noqa: F401  (registers the ModelAdmins)
