"""What the readers of each format share: times, ids and addresses, each refused in plain
words when it cannot be read."""

import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from outages.interchange.status_pages import ParseFailed


def load_json(body, what):
    """The JSON of `body`, or ParseFailed naming `what` it should have been."""
    try:
        return json.loads(body.decode("utf-8-sig") if isinstance(body, bytes) else body)
    except UnicodeDecodeError:
        raise ParseFailed(f"not {what}: it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        start = body[:40].decode("utf-8", "replace").strip() if isinstance(body, bytes) else ""
        if start.startswith("<"):
            raise ParseFailed(f"not {what}: it is HTML or XML, not JSON") from None
        raise ParseFailed(
            f"not {what}: it is not valid JSON ({error.msg} at line {error.lineno})"
        ) from None


def identity(item, what):
    """The id of a mapping that must have one (`what` names it, e.g. "incident 3 of …")."""
    if not isinstance(item, dict):
        raise ParseFailed(f"{what} is not an object")
    ident = item.get("id")
    if not isinstance(ident, str | int) or not str(ident).strip():
        raise ParseFailed(f"{what} has no id")
    return str(ident).strip()


def moment(value, what, *, required=False):
    """An aware UTC datetime from an ISO 8601 text with an offset; None when absent (and not
    `required`)."""
    if value in (None, ""):
        if required:
            raise ParseFailed(f"{what} has no time")
        return None
    if not isinstance(value, str):
        raise ParseFailed(f"{what}: {json.dumps(value)[:60]} is not a time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ParseFailed(f"{what}: “{value[:60]}” is not a time") from None
    if parsed.tzinfo is None:
        raise ParseFailed(f"{what}: “{value[:60]}” has no UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        raise ParseFailed(f"{what}: “{value[:60]}” is out of any range of dates") from None


def stable_id(*parts):
    """A short id made from what identifies something that has no id of its own."""
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:16]


def origin(url, default=""):
    """scheme://host of `url`, or `default` when it has none."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else default


def absolute(link, base):
    return urljoin(base, link) if base else link


def web_address(url, what):
    """`url` when it is an http or https address with a host: it becomes a cited source, which
    readers follow, so no other scheme (javascript:, data:) and no bare path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParseFailed(f"{what}: “{url[:80]}” is not a web address")
    return url


def each(items, read, skipped):
    """[read(item, number)] of the items. With `skipped` (a list), an item that cannot be read
    is left out and its reason added there: one broken incident must not stop every later sync
    of its page. All of them broken is a history of another shape: that fails as a whole."""
    found, failures = [], []
    for number, item in enumerate(items):
        try:
            found.append(read(item, number))
        except ParseFailed as failure:
            if skipped is None:
                raise
            failures.append(failure)
    if failures and not found:
        raise failures[0]
    if skipped is not None:
        skipped += [str(failure) for failure in failures]
    return found


def text_of(value):
    return value.strip() if isinstance(value, str) else ""


def names(items, key):
    """The distinct non-empty `key` of each mapping in `items`, in order."""
    seen = []
    for item in items if isinstance(items, list) else []:
        name = text_of(item.get(key)) if isinstance(item, dict) else ""
        if name and name not in seen:
            seen.append(name)
    return seen
