"""Fetching what the knowledge base follows or cites, politely and safely: one client for
status-page syncs and archive_sources. Timeouts, a size limit, conditional requests, a
User-Agent that says who we are, a few requests a second at most, and no requests to loopback,
private or link-local addresses unless settings.FETCH_ALLOW_PRIVATE says so.

INTERFACE (implemented by the fetching work; others code against it):
"""

import functools
import ipaddress
import json
import mimetypes
import re
import socket
import ssl
import threading
import time
import zlib
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from django.conf import settings

from outages.archive_text import media_type

MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
JSON_TYPES = {"application/json", "text/json"}
# Some providers (and raw file hosts) serve JSON as text/plain or with no type at all. We accept
# those when the body parses as JSON, because refusing would lose a real history for a label;
# what we refuse is a type that says it is something else (HTML is usually a login or error page).
LENIENT_JSON_TYPES = {"", "text/plain", "application/octet-stream"}
ACCEPT_JSON = "application/json, text/json;q=0.9, */*;q=0.1"
ACCEPT_ANY = "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8"
# Types guessed for local files, fixed here because mimetypes varies with the machine's
# /etc/mime.types (.xml is text/xml on some, application/xml on others; .atom is often missing).
FILE_TYPES = {
    ".json": "application/json",
    ".xml": "application/xml",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}
# Two letters at least, so a Windows drive ("C:\\data") is a path.
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:")
# The whole body may take this many FETCH_TIMEOUTs (60 s by default) to arrive.
WHOLE_BODY_TIMEOUTS = 6


class FetchFailed(Exception):
    """A fetch that gave nothing usable; str() is a plain sentence for the command's output
    and the admin, naming the URL, e.g. "https://x/y: sent text/html where JSON was expected"."""


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    status: int  # 200, or 304 when not modified
    body: bytes  # b"" when 304
    content_type: str  # "application/json" (without parameters), "" when unknown
    etag: str  # "" when none
    last_modified: str  # "" when none
    fetched_at: datetime  # aware, UTC

    @property
    def not_modified(self):
        return self.status == 304


class _Problem(Exception):
    """What went wrong with one hop, without the URL; fetch() names the URLs."""


def fetch(url, *, etag="", last_modified="", expect_json=False):
    """GET `url` (http or https only), following up to 5 redirects (each checked like the
    first). Sends If-None-Match / If-Modified-Since when given. With expect_json, refuses a
    body whose content type is not JSON or that does not parse as JSON. Raises FetchFailed."""
    headers = {
        "User-Agent": settings.FETCH_USER_AGENT,
        "Accept": ACCEPT_JSON if expect_json else ACCEPT_ANY,
        # gzip only: _body() decompresses it itself, within the size limit.
        "Accept-Encoding": "gzip",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    hop = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            with _get(hop, headers) as response:
                location = response.headers.get("location", "")
                if response.status_code in REDIRECT_STATUSES and location:
                    hop = _redirect_target(hop, location)
                    continue
                fetched = _fetched(url, hop, response, etag, last_modified)
            if expect_json and fetched.status == 200:
                _check_json(fetched.body, fetched.content_type, "sent")
            return fetched
        raise _Problem(f"was redirected more than {MAX_REDIRECTS} times")
    except _Problem as problem:
        where = url if hop == url else f"{url} (redirected to {hop})"
        raise FetchFailed(f"{where}: {problem}") from problem


def _redirect_target(hop, location):
    try:
        return str(httpx.URL(hop).join(location))
    except httpx.InvalidURL as error:
        raise _Problem(f"redirected to an invalid URL ({error})") from error


def read(source, **kwargs):
    """`source` is a URL (fetch()) or a local file path (read as a 200 with a content type
    guessed from its extension, fetched_at now). Raises FetchFailed."""
    # Anything that looks like scheme:... goes to fetch(), which refuses all but http and https,
    # so "file:///etc/passwd" is refused rather than read as a path. Callers holding a URL an
    # editor typed should call fetch(), never read(), which opens local files.
    text = str(source)
    if URL_SCHEME.match(text):
        return fetch(text, **kwargs)
    try:
        body = _read_file(Path(text))
        content_type = _guess_type(text)
        if kwargs.get("expect_json"):
            _check_json(body, content_type, "is")
    except FileNotFoundError:
        raise FetchFailed(f"no such file: {text}") from None
    except _Problem as problem:
        raise FetchFailed(f"{text}: {problem}") from problem
    return Fetched(text, text, 200, body, content_type, "", "", datetime.now(UTC))


# --- one request ------------------------------------------------------------------------------


@contextmanager
def _get(url, headers):
    """One GET of `url`, its response open for reading: checks the URL and its addresses,
    waits its turn for the host, and connects to an address it checked."""
    target = _checked_url(url)
    host = target.raw_host.decode("ascii")
    addresses = _addresses(host, target.port or (443 if target.scheme == "https" else 80))
    _wait_turn(host)
    client = httpx.Client(
        timeout=settings.FETCH_TIMEOUT,
        verify=_ssl_context(),
        follow_redirects=False,
        # Proxies from the environment would connect wherever they liked, past our check.
        trust_env=False,
    )
    with client, closing(_send(client, target, host, addresses, headers)) as response:
        yield response


def _send(client, target, host, addresses, headers):
    # The request goes to an address we checked, not to the name: resolving again at connect
    # time could give another answer (DNS rebinding) and reach an internal host. Host and SNI
    # carry the real name, so virtual hosts and certificate checks still work against it.
    # Each address is tried in turn, as a browser would. A new client per hop, so a connection
    # verified for one name is never reused for another that shares its address.
    headers = {**headers, "Host": target.netloc.decode("ascii")}
    failure = None
    for address in addresses:
        try:
            request = client.build_request(
                "GET",
                target.copy_with(host=str(address)),
                headers=headers,
                extensions={"sni_hostname": host},
            )
            return client.send(request, stream=True)
        except (httpx.ConnectError, httpx.InvalidURL) as error:  # invalid: an IPv6 zone
            failure = error
        except httpx.TimeoutException as error:
            raise _Problem(f"did not answer within {settings.FETCH_TIMEOUT:g} s") from error
        except httpx.TransportError as error:
            raise _Problem(f"the connection failed ({error})") from error
    raise _Problem(_connect_failure(failure)) from failure


def _checked_url(url):
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise _Problem(f"is not a valid URL ({error})") from error
    if target.scheme not in ("http", "https"):
        shown = f"this one is {target.scheme}:" if target.scheme else "this one has none"
        raise _Problem(f"refused: only http and https URLs are fetched ({shown})")
    if not target.raw_host:
        raise _Problem("refused: the URL has no host")
    if target.userinfo:
        raise _Problem("refused: the URL carries a user name or password")
    return target


def _connect_failure(error):
    # httpx wraps httpcore's error, which wraps the socket's; the socket's says what happened.
    cause = error
    while cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"its certificate could not be verified ({cause.verify_message})"
    if isinstance(cause, ssl.SSLError):
        return f"the secure connection failed ({cause.reason or cause})"
    if isinstance(cause, ConnectionRefusedError):
        return "refused the connection (nothing listens there)"
    return f"could not be reached ({error})"


@functools.cache
def _ssl_context():
    # One verifying context (certifi's roots) for every request: loading it costs more than
    # a small request, and archive_sources makes thousands.
    return httpx.create_ssl_context(trust_env=False)


# --- addresses --------------------------------------------------------------------------------


def _addresses(host, port):
    """The host's addresses, each checked; any address that is not public refuses the host,
    since the connection could go to any of them."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise _Problem(f"could not find the host {host} (no address in DNS)") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    if not settings.FETCH_ALLOW_PRIVATE:
        for address in addresses:
            kind = _not_public(address)
            if kind:
                said = f"{host} is" if _is_literal(host) else f"{host} resolves to {address},"
                raise _Problem(f"refused: {said} {kind} (set FETCH_ALLOW_PRIVATE to allow it)")
    return addresses


def _is_literal(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


NAT64 = ipaddress.ip_network("64:ff9b::/96")
SHARED = ipaddress.ip_network("100.64.0.0/10")


def _not_public(address):
    """Which kind of non-public address this is ("a loopback address"), or "" when public."""
    # An IPv6 address can carry an IPv4 one (mapped, 6to4, NAT64); judge what it reaches.
    if address.version == 6:
        inner = address.ipv4_mapped or address.sixtofour
        if address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner:
            return _not_public(inner)
    checks = [
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.version == 4 and address in SHARED, "a shared (carrier-grade NAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    ]
    return next((kind for refused, kind in checks if refused), "")


# --- pace -------------------------------------------------------------------------------------

_pace_lock = threading.Lock()
_next_turn = {}  # host -> time.monotonic() at which its next request may start


def _wait_turn(host):
    """Sleep until `host` may be asked again: one request per FETCH_MIN_INTERVAL per host.
    Each caller books its turn under the lock and sleeps outside it, so threads asking
    different hosts never wait for each other."""
    interval = settings.FETCH_MIN_INTERVAL
    if interval <= 0:
        return
    with _pace_lock:
        now = time.monotonic()
        turn = max(now, _next_turn.get(host, now))
        _next_turn[host] = turn + interval
    if turn > now:
        time.sleep(turn - now)


# --- the response -----------------------------------------------------------------------------


def _fetched(url, final_url, response, etag, last_modified):
    status = response.status_code
    if status == 304 and (etag or last_modified):
        body = b""
    elif status == 200:
        body = _body(response)
    else:
        raise _Problem(f"the server answered {_status_text(status)}")
    headers = response.headers
    return Fetched(
        url=url,
        final_url=final_url,
        status=status,
        body=body,
        content_type=media_type(headers.get("content-type", "")),
        # A 304 need not repeat the validators; the ones sent are still the current ones.
        etag=headers.get("etag", etag if status == 304 else ""),
        last_modified=headers.get("last-modified", last_modified if status == 304 else ""),
        fetched_at=datetime.now(UTC),
    )


def _status_text(status):
    # The standard phrase, not the server's: a reason phrase is free text from the far end.
    phrase = httpx.codes.get_reason_phrase(status)
    return f"{status} {phrase}" if phrase else str(status)


def _body(response):
    """The decoded body, given up as soon as it passes FETCH_MAX_BYTES: at most limit + 1 bytes
    are decoded, and at most one network read (64 KB) is read past the limit."""
    limit = settings.FETCH_MAX_BYTES
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Problem(f"the response is larger than the {_size(limit)} limit ({declared} bytes)")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        # Our own decompression, bounded by max_length, because a few kilobytes of gzip can
        # expand to gigabytes; httpx would expand each chunk whole before we could count it.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding in ("", "identity"):
        inflater = None
    else:
        raise _Problem(f"sent its body encoded as {encoding}, which was not asked for")
    chunks, size = [], 0
    # The timeout bounds each wait for bytes; this bounds the whole body, so that a server
    # sending a byte now and then cannot hold a sync (and the worker running it) for hours.
    allowed = WHOLE_BODY_TIMEOUTS * settings.FETCH_TIMEOUT
    deadline = time.monotonic() + allowed
    try:
        for raw in response.iter_raw():
            chunk = inflater.decompress(raw, limit + 1 - size) if inflater else raw
            size += len(chunk)
            if size > limit:
                raise _Problem(f"the response is larger than the {_size(limit)} limit")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Problem(f"took more than {allowed:g} s to send its body")
    except httpx.TimeoutException as error:
        raise _Problem(f"did not answer within {settings.FETCH_TIMEOUT:g} s") from error
    except httpx.TransportError as error:
        raise _Problem(f"the connection broke while sending the body ({error})") from error
    except zlib.error as error:
        raise _Problem(f"sent a damaged gzip body ({error})") from error
    if inflater and not inflater.eof:
        raise _Problem("sent a gzip body that ends early")
    return b"".join(chunks)


def _size(count):
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def _check_json(body, content_type, verb):
    """Refuse a body that is not JSON; `verb` says it as "sent" (a server) or "is" (a file)."""
    is_json = content_type in JSON_TYPES or content_type.endswith("+json")
    if not is_json and content_type not in LENIENT_JSON_TYPES:
        raise _Problem(f"{verb} {content_type} where JSON was expected")
    try:
        json.loads(body)
    except json.JSONDecodeError as error:
        raise _Problem(
            f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    except UnicodeDecodeError as error:
        raise _Problem("is not valid JSON: it is not UTF-8 text") from error
    except RecursionError as error:
        raise _Problem("is JSON nested too deeply to read") from error


# --- local files ------------------------------------------------------------------------------


def _read_file(path):
    limit = settings.FETCH_MAX_BYTES
    try:
        with path.open("rb") as file:
            body = file.read(limit + 1)
    except FileNotFoundError:
        raise  # read() says "no such file: <path>", the shape the commands print
    except IsADirectoryError as error:
        raise _Problem("is a directory, not a file") from error
    except OSError as error:
        raise _Problem(f"could not be read ({error.strerror})") from error
    if len(body) > limit:
        raise _Problem(f"the file is larger than the {_size(limit)} limit")
    return body


def _guess_type(path):
    suffix = Path(path).suffix.lower()
    return FILE_TYPES.get(suffix) or mimetypes.guess_type(path, strict=False)[0] or ""
