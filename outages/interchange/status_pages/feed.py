"""Atom and RSS status feeds, read with feedparser. Statuspage's own history.atom and
history.rss give one entry per incident whose content lists its updates as HTML paragraphs
("<p><small>Dec <var>5</var>, <var>10:00</var> UTC</small><br><strong>Resolved</strong> -
text</p>"): those become its updates. Any other entry is one incident with one update. Entries
with the same link (or id) are one incident.

    parse(body: bytes, *, url="") -> [ProviderIncident]   # raises ParseFailed
    feed_of(raw: dict) -> bytes   # one incident's archived data as a feed parse() reads again
"""

import calendar
import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import feedparser
from bs4 import BeautifulSoup

from outages.interchange.status_pages import ParseFailed, ProviderIncident, Update
from outages.interchange.status_pages.reading import (
    absolute,
    each,
    stable_id,
    text_of,
    web_address,
)

WHAT = "an Atom or RSS feed"
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
# "Dec 5, 10:00 UTC": Statuspage writes no year; the entry's own date gives it.
STAMP = re.compile(
    r"^\s*([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})\s*,?\s*(\d{1,2}):(\d{2})\s*([A-Za-z]{1,5})?\s*$"
)
# Zones Statuspage pages commonly write their times in, as hours east of UTC.
ZONES = {"utc": 0, "gmt": 0, "z": 0, "pst": -8, "pdt": -7, "mst": -7, "mdt": -6, "cst": -6}
ZONES |= {"cdt": -5, "est": -5, "edt": -4, "cet": 1, "cest": 2, "bst": 1, "ist": 5.5}
ZONES |= {"jst": 9, "aest": 10, "aedt": 11}


def parse(body, *, url="", skipped=None):
    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        reason = str(parsed.get("bozo_exception", "")).strip() or "it cannot be read"
        raise ParseFailed(f"not {WHAT}: {reason}")
    if not parsed.version and not parsed.entries:
        raise ParseFailed(f"not {WHAT}: it has neither a feed nor entries")
    incidents = {}

    def read(entry, number):
        """One entry's (key, link, title, published), or ParseFailed."""
        link = text_of(entry.get("link"))
        key = absolute(link, url) if link else text_of(entry.get("id"))
        if not key:
            raise ParseFailed(f"entry {number + 1} of the feed has neither a link nor an id")
        title = text_of(entry.get("title")) or "Untitled"
        published = entry_time(entry, "published") or entry_time(entry, "updated")
        if published is None:
            raise ParseFailed(f"the feed's entry “{title[:80]}” has no time that can be read")
        return key, link, title, published

    for number, entry in enumerate(parsed.entries):
        try:
            key, link, title, published = read(entry, number)
        except ParseFailed as failure:
            if skipped is None:
                raise
            skipped.append(str(failure))
            continue
        updated = entry_time(entry, "updated") or published
        updates = entry_updates(entry, key, published)
        raw = {
            "id": text_of(entry.get("id")),
            "link": link,
            "title": title,
            "published": text_of(entry.get("published")),
            "updated": text_of(dict.get(entry, "updated")),
            "content": html_of(entry),
        }
        found = incidents.get(key)
        if found is None:
            incidents[key] = ProviderIncident(
                id=key,
                url=key if key.startswith(("http://", "https://")) else absolute("", url),
                title=title,
                impact="",
                created_at=published,
                modified_at=updated,
                updates=updates,
                raw={"entries": [raw]},
            )
            continue
        found.raw["entries"].append(raw)
        known = {one.id for one in found.updates}
        found.updates += [one for one in updates if one.id not in known]
        found.created_at = min(found.created_at, published)
        found.modified_at = max(found.modified_at, updated)
    for found in incidents.values():
        found.updates.sort(key=lambda one: one.at)
        found.postmortem = next(
            (one.text for one in reversed(found.updates) if one.status == "postmortem"), ""
        )

    def addressed(found, number):
        web_address(found.url, f"the feed's entry “{found.title[:80]}”")
        return found

    kept = each(list(incidents.values()), addressed, skipped)
    if parsed.entries and not kept:
        raise ParseFailed(skipped[0])  # every entry broken (else raised above)
    return kept


def entry_time(entry, name):
    # dict.get: feedparser's own get() answers "updated" with "published" (and a warning).
    value = dict.get(entry, f"{name}_parsed")
    return datetime(*value[:6], tzinfo=UTC) if value else None


def html_of(entry):
    content = entry.get("content")
    if content and isinstance(content, list) and content[0].get("value"):
        return content[0]["value"]
    return entry.get("summary", "") or ""


def entry_updates(entry, key, published):
    """The updates Statuspage lists in the entry's content, else the entry as one update."""
    soup = BeautifulSoup(html_of(entry), "html.parser")
    updates = []
    for paragraph in soup.find_all("p"):
        small, strong = paragraph.find("small"), paragraph.find("strong")
        if small is None or strong is None:
            continue
        at = stamp_time(small.get_text(), published)
        if at is None:
            continue
        status = strong.get_text(" ", strip=True)
        small.decompose()
        strong.decompose()
        text = re.sub(r"^\s*-\s*", "", as_text(paragraph))
        word = re.sub(r"\W+", "_", status.strip().lower()).strip("_") or "update"
        ident = stable_id(key, at.isoformat(), word)
        # Two updates of one status in one minute: the second one counts too.
        same = sum(1 for one in updates if one.id.split("-")[0] == ident)
        if same:
            ident = f"{ident}-{same + 1}"
        updates.append(Update(ident, word, text, at))
    if updates:
        return updates
    text = as_text(soup)
    return [Update(stable_id(key, published.isoformat()), "update", text, published)]


def stamp_time(stamp, published):
    """The time of "Dec 5, 10:00 UTC" in the year of the entry's date (or the next one, for
    an update posted after New Year)."""
    found = STAMP.match(stamp)
    if not found or found.group(1).lower() not in MONTHS:
        return None
    month, day, hour, minute, zone = found.groups()
    hours = ZONES.get((zone or "utc").lower())
    if hours is None:
        raise ParseFailed(f"the feed's time “{stamp}” is in a zone this reader does not know")
    try:
        at = datetime(
            published.year, MONTHS[month.lower()], int(day), int(hour), int(minute), tzinfo=UTC
        )
    except ValueError:
        raise ParseFailed(f"the feed's time “{stamp}” is not a time") from None
    at -= timedelta(hours=hours)
    if at < published - timedelta(days=180):
        at = at.replace(year=at.year + 1)
    return at


def as_text(node):
    """HTML as plain text: paragraphs apart, line breaks kept."""
    if isinstance(node, str):
        node = BeautifulSoup(node, "html.parser")
    for br in node.find_all("br"):
        br.replace_with("\n")
    for block in node.find_all(["p", "div", "li"]):
        block.insert_after("\n\n")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in node.get_text().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def feed_of(raw):
    """An Atom feed of the entries one incident was read from (its `raw`, as archived), so
    that a later sync reads the incident as it was and tells an edited update from a new one,
    as it does for the JSON formats."""
    atom = "http://www.w3.org/2005/Atom"
    feed = ElementTree.Element("feed", xmlns=atom)
    ElementTree.SubElement(feed, "title").text = "Archived entries"
    for entry in raw.get("entries", []):
        element = ElementTree.SubElement(feed, "entry")
        ElementTree.SubElement(element, "id").text = entry.get("id") or entry.get("link")
        ElementTree.SubElement(element, "title").text = entry.get("title")
        if entry.get("link"):
            ElementTree.SubElement(element, "link", rel="alternate", href=entry["link"])
        for name in ("published", "updated"):
            if entry.get(name):
                ElementTree.SubElement(element, name).text = entry[name]
        ElementTree.SubElement(element, "content", type="html").text = entry.get("content")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
