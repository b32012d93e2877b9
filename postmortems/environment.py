"""Settings read from the environment, typed, with errors that name the variable."""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


# A value that cannot be read stops the start with a message naming the variable and the value,
# never a bare traceback.
def env(name, default):
    """The variable `name` read as the type of `default`: str, bool, int or comma-separated list."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if isinstance(default, bool):
        if value.lower() in TRUE | FALSE:
            return value.lower() in TRUE
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if isinstance(default, list):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value
