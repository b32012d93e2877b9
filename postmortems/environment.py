"""Settings read from the environment, typed, with errors that name the variable."""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


# A value that cannot be read stops the start with a message naming the variable and the value,
# never a bare traceback.
def env(name, default):
    """The variable `name` read as the type of `default`: str, bool, int, float or
    comma-separated list."""
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
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None
    if isinstance(default, list):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def media_storage():
    """STORAGES["default"]: local files under MEDIA_ROOT, or an S3-compatible bucket when
    S3_BUCKET is set (django-storages). Keys may be left out where the machine's own
    credentials (an instance role, AWS_* variables) should be used."""
    bucket = env("S3_BUCKET", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options = {
        "bucket_name": bucket,
        "endpoint_url": env("S3_ENDPOINT_URL", "") or None,
        "region_name": env("S3_REGION", "") or None,
        "access_key": env("S3_ACCESS_KEY_ID", "") or None,
        "secret_key": env("S3_SECRET_ACCESS_KEY", "") or None,
        "location": env("S3_PREFIX", ""),
        # The site serves every file itself, so the bucket stays private: no public ACL.
        "default_acl": None,
        "querystring_auth": True,
        # An upload never replaces another file of the same name; history may still show it.
        "file_overwrite": False,
    }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {name: value for name, value in options.items() if value is not None},
    }
