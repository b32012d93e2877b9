"""Fetching what the knowledge base follows or cites, politely and safely: one client for
status-page syncs and archive_sources. Timeouts, a size limit, conditional requests, a
User-Agent that says who we are, a few requests a second at most, and no requests to loopback,
private or link-local addresses unless settings.FETCH_ALLOW_PRIVATE says so.

INTERFACE (implemented by the fetching work; others code against it):
"""

from dataclasses import dataclass
from datetime import datetime


class FetchFailed(Exception):
    """A fetch that gave nothing usable; str() is a plain sentence for the command's output
    and the admin, naming the URL, e.g. "https://x/y: the server sent HTML where JSON was
    expected (text/html)"."""


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


def fetch(url, *, etag="", last_modified="", expect_json=False):
    """GET `url` (http or https only), following up to 5 redirects (each checked like the
    first). Sends If-None-Match / If-Modified-Since when given. With expect_json, refuses a
    body whose content type is not JSON or that does not parse as JSON. Raises FetchFailed."""
    raise NotImplementedError


def read(source, **kwargs):
    """`source` is a URL (fetch()) or a local file path (read as a 200 with a content type
    guessed from its extension, fetched_at now). Raises FetchFailed."""
    raise NotImplementedError
