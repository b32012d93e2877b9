"""The source archive: a copy of each fetched body, compressed with its hash, time, status and
content type, a new version only when the content changed.

INTERFACE (implemented by the archive work; others code against it):
"""

import hashlib

from outages.archive_text import extract_text, kind_of


def store(fetched, *, source=None, url=None):
    """Keep `fetched` (a fetching.Fetched with status 200) as the next ArchivedCopy of `url`
    (default fetched.url), linked to `source` when given. Returns the new ArchivedCopy, or
    None when the content is the same as the latest copy's. Writes nothing else."""
    raise NotImplementedError


def store_body(url, body, content_type, fetched_at, *, source=None, http_status=200):
    """store() for a body that was not fetched on its own: a status-page sync keeps each
    provider incident's own JSON as a copy of that incident's source this way."""
    raise NotImplementedError


def latest_digests(urls):
    """{url: sha256 of its latest copy} for those of `urls` that have one; one query a
    thousand URLs."""
    raise NotImplementedError


def digest(body, content_type):
    """What store() compares: the SHA-256 of the extracted text for HTML (so a page whose only
    change is a rotating token is not a new version), of the bytes otherwise."""
    if kind_of(content_type) == "html":
        body = extract_text(body, content_type).encode()
    return hashlib.sha256(body).hexdigest()
