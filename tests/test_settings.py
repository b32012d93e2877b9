import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from postmortems.client_address import client_address

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432/postmortems"
TOKENS = ["FASTLY_API_TOKEN", "CLOUDFLARE_API_TOKEN"]


def check_with(script=None, **env):
    """`manage.py check` (or a script) in a fresh process with this environment."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", script] if script else [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env, missing",
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "example.com"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_secret_key_and_allowed_hosts(env, missing):
    result = check_with(**env)

    assert result.returncode != 0
    assert f"Set {missing}" in result.stderr


def test_production_starts_with_both():
    result = check_with(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.com")

    assert result.returncode == 0, result.stderr


def test_a_bad_debug_value_fails_loudly():
    result = check_with(DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def settings_with(monkeypatch, **env):
    """The settings module's names, as it reads them from this environment."""
    for name in ["DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BEHIND_PROXY", "ADMINS", *TOKENS]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "postmortems" / "settings.py"))


def test_a_bad_whole_number_names_the_variable_and_the_value():
    result = check_with(CONN_MAX_AGE="sixty")

    assert result.returncode != 0
    assert "CONN_MAX_AGE must be a whole number, not 'sixty'." in result.stderr
    assert "invalid literal" not in result.stderr


@pytest.mark.parametrize(
    "name",
    [
        "CONN_MAX_AGE",
        "PAGE_CACHE_SECONDS",
        "PAGE_CACHE_STALE_SECONDS",
        "PAGE_CACHE_RENDER_SECONDS",
        "AXES_FAILURE_LIMIT",
        "PROXY_COUNT",
    ],
)
def test_every_whole_number_is_read_by_the_same_helper(monkeypatch, name):
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be a whole number, not '5x'"):
        settings_with(monkeypatch, **{name: "5x"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PROXY_COUNT": "0"}, "PROXY_COUNT must be 1 or more, not 0."),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not 'LOUD'."),
        (
            {"DATABASE_URL": POSTGRES, "DATABASE_POOLING": "session"},
            "DATABASE_POOLING must be 'transaction' or unset, not 'session'.",
        ),
        (
            {"DATABASE_URL": "sqlite:///pooled.sqlite3", "DATABASE_POOLING": "transaction"},
            "DATABASE_POOLING is for PostgreSQL behind PgBouncer.",
        ),
        (
            {"FRONT_CACHE_PURGE_URLS": "varnish:6081"},
            "FRONT_CACHE_PURGE_URLS entries are http(s)://… (Varnish), fastly://SERVICE_ID or "
            "cloudflare://ZONE_ID, not 'varnish:6081'.",
        ),
        (
            {"FRONT_CACHE_PURGE_URLS": "fastly://", "FASTLY_API_TOKEN": "t"},
            "FRONT_CACHE_PURGE_URLS entries are http(s)://… (Varnish), fastly://SERVICE_ID or "
            "cloudflare://ZONE_ID, not 'fastly://'.",
        ),
        (
            {"FRONT_CACHE_PURGE_URLS": "fastly://SU1Z0isxPaozGVKXdv0eY", "FASTLY_API_TOKEN": ""},
            "fastly://SU1Z0isxPaozGVKXdv0eY needs FASTLY_API_TOKEN.",
        ),
        (
            {"FRONT_CACHE_PURGE_URLS": "cloudflare://023e105f4ecef8ad9ca31a8372d0c353"},
            "cloudflare://023e105f4ecef8ad9ca31a8372d0c353 needs CLOUDFLARE_API_TOKEN.",
        ),
    ],
)
def test_values_out_of_range_are_refused_by_name(monkeypatch, env, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_with(monkeypatch, **env)

    assert str(refused.value) == message


def test_values_are_read_as_their_kind(monkeypatch):
    read = settings_with(
        monkeypatch,
        DEBUG=" off ",
        SECRET_KEY="k" * 50,
        ALLOWED_HOSTS="a.example, b.example,",
        AXES_FAILURE_LIMIT="7",
        PUBLIC_CHANGE_LOG_NAMES="yes",
    )

    assert read["DEBUG"] is False
    assert read["ALLOWED_HOSTS"] == ["a.example", "b.example"]
    assert read["AXES_FAILURE_LIMIT"] == 7
    assert read["PUBLIC_CHANGE_LOG_NAMES"] is True


def test_admins_come_from_the_environment_with_or_without_names(monkeypatch):
    read = settings_with(monkeypatch, ADMINS="Jane Doe <jane@example.org>, ops@example.org")

    assert read["ADMINS"] == [("Jane Doe", "jane@example.org"), ("", "ops@example.org")]
    assert settings_with(monkeypatch)["ADMINS"] == []


def test_admins_that_are_not_addresses_are_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="^ADMINS must be email addresses"):
        settings_with(monkeypatch, ADMINS="Jane Doe")


def test_behind_a_proxy_logins_are_throttled_by_the_forwarded_address(monkeypatch):
    assert "AXES_CLIENT_IP_CALLABLE" not in settings_with(monkeypatch)

    read = settings_with(monkeypatch, BEHIND_PROXY="true", PROXY_CLIENT_IP_HEADER="X-Real-IP")

    assert read["AXES_CLIENT_IP_CALLABLE"] == "postmortems.client_address.client_address"
    assert read["PROXY_CLIENT_IP_HEADER"] == "X-Real-IP"
    assert read["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"], "ip_address"]


@pytest.mark.parametrize(
    ("header", "count", "expected"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("198.51.100.9, 203.0.113.7", 1, "203.0.113.7"),
        ("198.51.100.9, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),
        ("", 1, "10.0.0.1"),
    ],
)
def test_the_client_address_is_the_one_the_proxies_added(settings, rf, header, count, expected):
    settings.PROXY_CLIENT_IP_HEADER = "X-Real-IP"
    settings.PROXY_COUNT = count
    request = rf.get("/", headers={"x-real-ip": header}, REMOTE_ADDR="10.0.0.1")

    assert client_address(request) == expected


SERVER_ERROR_SCRIPT = """
import django
django.setup()
from django.conf import settings
from django.db.backends.utils import CursorWrapper
from django.test import Client

def broken(*args, **kwargs):
    raise ValueError("a bug only production shows")

CursorWrapper.execute = broken
# The error page links the stylesheet; without collectstatic there is no manifest to name it.
plain = "django.contrib.staticfiles.storage.StaticFilesStorage"
settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": plain}}
print(Client(raise_request_exception=False).get("/incidents/?q=anything").status_code)
"""


# Production settings for SERVER_ERROR_SCRIPT.
DEBUG_OFF = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "testserver",
    "HTTPS": "false",
    "DJANGO_SETTINGS_MODULE": "postmortems.settings",
    "PYTHONWARNINGS": "ignore",  # WhiteNoise warns of the uncollected static folder
    "DATABASE_URL": "sqlite://:memory:",  # connecting to the default would create db.sqlite3
}


def test_with_debug_off_a_server_error_is_logged_to_stderr_with_its_traceback():
    result = check_with(**DEBUG_OFF, script=SERVER_ERROR_SCRIPT)

    assert result.stdout.strip() == "500", result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]  # one per line
    (error,) = [record for record in records if record["level"] == "ERROR"]
    assert error["logger"] == "django.request"
    assert "Internal Server Error: /incidents/" in error["message"]
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert "ValueError: a bug only production shows" in error["traceback"]
    assert error["status"] == 500
    assert {"time", "level", "logger", "message"} <= set(error)


def test_a_503_of_a_lost_database_is_logged_as_one_line_without_a_traceback():
    script = SERVER_ERROR_SCRIPT.replace(
        'raise ValueError("a bug only production shows")',
        "from django.db import OperationalError\n"
        '    raise OperationalError("connection to server failed\\nIs the server running?")',
    )
    result = check_with(**DEBUG_OFF, script=script)

    assert result.stdout.strip() == "503", result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # one per line
    (error,) = [record for record in records if record["level"] == "ERROR"]
    assert error["logger"] == "django.request"
    assert error["message"] == (
        "Service Unavailable: /incidents/ (database unavailable: connection to server failed)"
    )
    assert "traceback" not in error
    assert error["status"] == 503


def test_behind_pgbouncer_in_transaction_mode_no_server_side_cursors(monkeypatch):
    direct = settings_with(monkeypatch, DATABASE_URL=POSTGRES)["DATABASES"]["default"]
    pooled = settings_with(monkeypatch, DATABASE_URL=POSTGRES, DATABASE_POOLING="transaction")

    assert not direct.get("DISABLE_SERVER_SIDE_CURSORS")
    assert pooled["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
    # Connections to PgBouncer stay persistent and are checked before each request reuses one.
    assert pooled["DATABASES"]["default"]["CONN_MAX_AGE"] == 60
    assert pooled["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True


def test_front_cache_settings_are_read_from_the_environment(monkeypatch):
    read = settings_with(
        monkeypatch,
        FRONT_CACHE_SECONDS="3600",
        FRONT_CACHE_PURGE_URLS="http://10.0.0.5:6081/, http://10.0.0.6:6081/",
    )

    assert read["FRONT_CACHE_SECONDS"] == 3600
    assert read["FRONT_CACHE_PURGE_URLS"] == ["http://10.0.0.5:6081/", "http://10.0.0.6:6081/"]


def test_cdn_purges_are_configured_by_scheme_with_tokens_from_the_environment(monkeypatch):
    read = settings_with(
        monkeypatch,
        FRONT_CACHE_PURGE_URLS="http://10.0.0.5:6081/, fastly://SU1Z0isxPaozGVKXdv0eY, "
        "cloudflare://023e105f4ecef8ad9ca31a8372d0c353",
        FASTLY_API_TOKEN="fastly-token",
        CLOUDFLARE_API_TOKEN="cloudflare-token",
    )

    assert read["FRONT_CACHE_PURGE_URLS"][1:] == [
        "fastly://SU1Z0isxPaozGVKXdv0eY",
        "cloudflare://023e105f4ecef8ad9ca31a8372d0c353",
    ]
    assert read["FASTLY_API_TOKEN"] == "fastly-token"
    assert read["CLOUDFLARE_API_TOKEN"] == "cloudflare-token"
