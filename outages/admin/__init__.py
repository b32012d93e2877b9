"""The editors' screens: reference rows, incidents, their history, the source archive."""

from outages.admin import archive, incidents, reference  # noqa: F401  (registers the ModelAdmins)
