"""Finding an outage the knowledge base already holds: the one rule for when a new incident is
likely a duplicate, of a stored incident (any status) or of another new one in the same run.

Two incidents are likely the same outage when
  (a) they share a source URL, or
  (b) they have the same provider (after names and aliases are resolved), start within WINDOW
      of each other and share a service or a region (both starts in a stated zone), or
  (c) they have the same provider and very similar titles (title_similarity).

The importer asks before it creates incidents (importing.Importer.run); a document settles a
match with `same_as` (merge) or `not_duplicate_of` (keep both). What is stored is read with a
few queries for the whole run, however many incidents it brings.
"""

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from outages.models import Incident, Region
from outages.names import normalise_name
from outages.text import is_unstated

# Two reports of one outage rarely agree on its start: one gives the trigger, another the first
# customer report; a zone-less time read in the wrong zone is up to 14 hours off, a start known
# only to the day up to 24. Two days covers those; a provider seldom has two outages of the same
# service or region that close together.
WINDOW = timedelta(hours=48)
# difflib's ratio (0 to 1) of two normalised titles; "Amazon S3 outage in US East" and "Amazon
# S3 outages in US-East" pass, "AWS EBS outage in US East" and "AWS EC2, EBS and RDS outage in
# US East" do not.
TITLE_SIMILARITY = 0.9
DIGITS = re.compile(r"\d+")
READ_BATCH = 1000


@dataclass
class Candidate:
    """What the rule compares of one incident."""

    slug: str
    title: str
    provider: str  # slug
    started_at: datetime | None
    services: frozenset  # slugs
    regions: frozenset  # codes
    urls: frozenset
    time_zone: str = "UTC"  # the incident's; "unstated" leaves it out of the start window
    # New incidents only: where the document says it, and what it says is not a duplicate.
    document: object = None
    index: int = 0
    not_duplicate_of: frozenset = frozenset()
    # New incidents only: the provider's and the sources' ids, when saved by the time it was
    # planned (rows made later can only be shared with other new incidents).
    provider_id: int | None = None
    source_ids: frozenset = frozenset()
    title_key: tuple = field(init=False)
    words: str = field(init=False)

    def __post_init__(self):
        self.words = normalise_name(self.title)
        self.title_key = title_key(self.provider, self.words)

    @property
    def start(self):
        """The start to compare with other incidents' starts, or None. A start whose zone the
        source does not state is a wall-clock time, not an instant: comparing it would read it
        as UTC, which no comparison across incidents may do. Such an incident is left out of
        rule (b), on either side; a shared source or a similar title still finds it."""
        return None if is_unstated(self.time_zone) else self.started_at


def title_key(provider, words):
    """Titles are only compared within the same provider and with the same numbers (years,
    days): "(April 2011)" and "(October 2012)" name different outages however alike the rest."""
    return (provider, tuple(sorted(DIGITS.findall(words))))


def title_similarity(first, second):
    """difflib's ratio of two normalised titles, 0 when the cheap upper bounds already fail."""
    matcher = SequenceMatcher(None, first, second, autojunk=False)
    if matcher.real_quick_ratio() < TITLE_SIMILARITY or matcher.quick_ratio() < TITLE_SIMILARITY:
        return 0.0
    return matcher.ratio()


def new_candidate(change, data, sources):
    """The Candidate of an incident the importer plans to create (an importing.Change)."""
    incident = change.incident
    provider = incident.provider
    not_duplicate_of = data.get("not_duplicate_of", [])
    if isinstance(not_duplicate_of, str):
        not_duplicate_of = [not_duplicate_of]
    return Candidate(
        slug=incident.slug,
        title=incident.title,
        provider=provider.slug,
        started_at=incident.started_at,
        services=frozenset(service.slug for service in change.related["services"]),
        regions=frozenset(region.code for region in change.related["regions"]),
        urls=frozenset(source.url for source in sources),
        time_zone=incident.time_zone,
        document=change.document,
        index=change.index,
        not_duplicate_of=frozenset(not_duplicate_of),
        provider_id=provider.pk,
        source_ids=frozenset(source.pk for source in sources if source.pk is not None),
    )


def stored_candidates(new):
    """{slug: Candidate} of the stored incidents that could match any of `new`, and {url:
    slugs} of the stored incidents citing their stored sources: four queries per thousand
    stored incidents (their sources, their incidents of the same providers, those incidents'
    services and regions), not per new incident. Incidents among `new` (already written by this
    run) are left out."""
    new_slugs = {candidate.slug for candidate in new}
    citing = defaultdict(set)
    links = Incident.sources.through.objects
    source_ids = {pk for candidate in new for pk in candidate.source_ids}
    for batch in batches(source_ids):
        for url, slug in links.filter(source_id__in=batch).values_list(
            "source__url", "incident__slug"
        ):
            if slug not in new_slugs:
                citing[url].add(slug)
    providers = {candidate.provider_id for candidate in new if candidate.provider_id}
    rows = Incident.objects.filter(provider_id__in=providers).order_by()
    found = {}
    for pk, slug, title, provider, started_at, time_zone in rows.values_list(
        "pk", "slug", "title", "provider__slug", "started_at", "time_zone"
    ):
        if slug not in new_slugs:
            found[pk] = Candidate(
                slug, title, provider, started_at, frozenset(), frozenset(), frozenset(), time_zone
            )
    # Services and regions only of those that started near a new incident of their provider.
    starts = defaultdict(list)
    for candidate in new:
        if candidate.start is not None:
            starts[candidate.provider].append(candidate.start)
    for times in starts.values():
        times.sort()
    near = [pk for pk, candidate in found.items() if close_to_any(candidate, starts)]
    for name, key in [("services", "slug"), ("regions", "code")]:
        through = getattr(Incident, name).through
        column = "service" if name == "services" else "region"
        gathered = defaultdict(set)
        for batch in batches(near):
            for pk, value in through.objects.filter(incident_id__in=batch).values_list(
                "incident_id", f"{column}__{key}"
            ):
                gathered[pk].add(value)
        for pk, values in gathered.items():
            setattr(found[pk], name, frozenset(values))
    return {candidate.slug: candidate for candidate in found.values()}, citing


def close_to_any(candidate, starts):
    times = starts.get(candidate.provider)
    if not times or candidate.start is None:
        return False
    at = bisect.bisect_left(times, candidate.start - WINDOW)
    return at < len(times) and times[at] <= candidate.start + WINDOW


def batches(values, size=READ_BATCH):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def matches(new, only_new=False):
    """[(candidate, {other slug: [reasons]}, {other slug: where, for new ones})] of the new
    incidents that look like a stored one or an earlier new one, in the order given.
    `only_new`: the database held no incident before these were written (a first import,
    whose tables no other session writes meanwhile), so none is stored but them: nothing is
    read back, nor waited for (the importer's writes still being sent)."""
    stored, citing = ({}, {}) if only_new else stored_candidates(new)
    by_url = defaultdict(list)  # url -> earlier new candidates citing it
    by_provider = defaultdict(list)  # provider -> [(start, order, candidate)], stored and new
    by_title = defaultdict(list)  # title_key -> candidates
    for candidate in stored.values():
        if candidate.start is not None:
            by_provider[candidate.provider].append((candidate.start, -1, candidate))
        by_title[candidate.title_key].append(candidate)
    for provider_list in by_provider.values():
        provider_list.sort(key=lambda entry: entry[:2])

    new_by_slug = {candidate.slug: candidate for candidate in new}
    found = []
    for order, candidate in enumerate(new):
        reasons = defaultdict(list)
        shared = defaultdict(list)  # other slug -> the source URLs it shares
        for url in sorted(candidate.urls):
            for slug in sorted(citing.get(url, ())):
                shared[slug].append(url)
            for other in by_url[url]:
                shared[other.slug].append(url)
            by_url[url].append(candidate)
        for slug, urls in shared.items():
            reasons[slug].append(sources_in_words(urls))
        if candidate.start is not None:
            entries = by_provider[candidate.provider]
            start = candidate.start
            low = bisect.bisect_left(entries, start - WINDOW, key=lambda entry: entry[0])
            high = bisect.bisect_right(entries, start + WINDOW, key=lambda entry: entry[0])
            for _, _, other in entries[low:high]:
                shared = overlap(candidate, other)
                if shared:
                    hours = abs(other.start - start).total_seconds() / 3600
                    reasons[other.slug].append(
                        f"same provider {candidate.provider}, started {hours:.0f} h apart, "
                        f"both in {shared}"
                    )
            bisect.insort(entries, (start, order, candidate), key=lambda entry: entry[:2])
        for other in by_title[candidate.title_key]:
            ratio = title_similarity(candidate.words, other.words)
            if ratio >= TITLE_SIMILARITY:
                reasons[other.slug].append(f"similar title “{other.title}” ({ratio:.2f})")
        by_title[candidate.title_key].append(candidate)

        if not reasons:
            continue
        earlier = {slug: new_by_slug[slug] for slug in reasons if slug in new_by_slug}
        kept = {
            slug: why
            for slug, why in reasons.items()
            if slug != candidate.slug
            and slug not in candidate.not_duplicate_of
            and candidate.slug not in getattr(earlier.get(slug), "not_duplicate_of", ())
        }
        if kept:
            where = {slug: other for slug, other in earlier.items() if slug in kept}
            found.append((candidate, kept, where))
    return found


def sources_in_words(urls, shown=3):
    if len(urls) == 1:
        return f"shared source {urls[0]}"
    more = f" and {len(urls) - shown} more" if len(urls) > shown else ""
    return f"{len(urls)} shared sources: {', '.join(urls[:shown])}{more}"


def overlap(first, second):
    """The services and regions two incidents share, in words, or ""."""
    services, regions = first.services & second.services, first.regions & second.regions
    words = []
    if services:
        words.append(f"service{'s' if len(services) > 1 else ''} {', '.join(sorted(services))}")
    if regions:
        label = Region._meta.verbose_name
        words.append(f"{label}{'s' if len(regions) > 1 else ''} {', '.join(sorted(regions))}")
    return " and ".join(words)


def problems(new, only_new=False):
    """One problem per likely duplicate, naming the other incident and every reason
    (`only_new`: as for matches())."""
    found = []
    for candidate, reasons, earlier in matches(new, only_new):
        for slug, why in reasons.items():
            other = slug
            if slug in earlier:
                other = f"{slug} (new in this run: {place(earlier[slug])})"
            found.append(
                candidate.document.problem(
                    ["incidents", candidate.index],
                    f"likely the same outage as {other}: {'; '.join(why)}. Add “same_as: {slug}” "
                    f"to merge it into {slug}, or “not_duplicate_of: {slug}” to keep both",
                )
            )
    return found


def place(candidate):
    line = candidate.document.line_of(["incidents", candidate.index])
    name = candidate.document.name
    return f"{name}:{line}" if line else f"{name} incidents[{candidate.index}]"
