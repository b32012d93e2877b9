"""What a sync does with each provider incident that changed since it was last archived: the
incident document (our own format) the importer is given for it.

- The provider incident's page is already a source of a stored incident: a `same_as` document
  with only the updates that are new since the archived copy. An update whose text the provider
  edited is not written into our timeline; the new archived copy records it.
- Otherwise, when issue 8's duplicate rule (outages/duplicates.py) finds a stored incident that
  is likely the same outage and does not come from this same status page: a `same_as` document
  with every update (the importer adds the source and the events the incident lacks).
- Otherwise a new draft. New incidents of one page that the rule pairs are distinct provider
  incidents, so each says `not_duplicate_of` the other.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from outages import duplicates
from outages.duplicates import batches
from outages.interchange import archive, status_pages
from outages.interchange.document_times import read_time
from outages.interchange.status_pages import documents as mapping
from outages.interchange.status_pages import feed
from outages.interchange.stored import stored_names
from outages.models import ArchivedCopy, Incident, Region, Service, Source

# How one incident of a format is written on its own as a whole history of that format, to read
# an archived copy (canonical_json, the provider's own data of the incident) back.
JSON = "application/json"
# One archived provider incident's data (canonical_json) as a history its reader reads again.
ALONE = {
    "statuspage": lambda raw: json.dumps({"incidents": [raw]}).encode(),
    "gcp": lambda raw: json.dumps([raw]).encode(),
    "feed": feed.feed_of,
}


@dataclass
class Plan:
    documents: list = field(default_factory=list)  # incident documents, for one Importer run
    incidents: list = field(default_factory=list)  # the ProviderIncident of each document
    kinds: list = field(default_factory=list)  # "new", "gained" or "merged", for each
    merged: list = field(default_factory=list)  # (provider incident url, into slug, why)
    deferred: set = field(default_factory=set)  # URLs whose new updates wait for the next sync
    edited: set = field(default_factory=set)  # URLs of incidents whose provider changed its words

    def add(self, document, incident, kind):
        self.documents.append(document)
        self.incidents.append(incident)
        self.kinds.append(kind)

    def origin(self, path):
        """The ProviderIncident of a problem's path ("incidents[3" or "incidents[3].title")."""
        try:
            return self.incidents[int(path.split("[", 1)[1].split("]")[0])]
        except (IndexError, ValueError):
            return None


def plan(changed, provider, *, format, fetched, report, bodies):
    """The Plan for the provider incidents in `changed`; counts edits in `report`. A few queries
    for all of them."""
    result = Plan()
    if not changed:
        return result
    common = {
        "provider": provider.slug,
        "provider_name": provider.name,
        "fetched_at": fetched.fetched_at,
        "page_url": fetched.url,
    }
    urls = [incident.url for incident in changed]
    citing = citing_incidents(urls)
    slugs = {mapping.incident_slug(provider.slug, incident): incident for incident in changed}
    # A new incident's slug already taken: the same provider incident, whose source an editor
    # removed; append to it rather than write over it.
    for slug in Incident.objects.filter(slug__in=list(slugs)).values_list("slug", flat=True):
        citing.setdefault(slugs[slug].url, [slug])
    previous = previous_bodies([url for url in urls if url in citing])
    targets = set()
    new = []
    for incident in changed:
        if incident.url not in citing:
            new.append(incident)
            continue
        target = citing[incident.url][0]
        before = previous_incident(format, previous.get(incident.url), incident.url)
        updates = incident.updates
        if before is not None:
            said = {update.id: update.text for update in before.updates}
            updates = [update for update in incident.updates if update.id not in said]
            if edited(before, incident, said):
                report.edited += 1
                result.edited.add(incident.url)
            elif not updates:
                report.unchanged += 1  # only what we do not keep changed (an updated_at)
        if updates and target in targets:
            # The importer merges into an incident once a run: the next sync appends these.
            result.deferred.add(incident.url)
            report.details.append(f"{incident.url}: its updates wait for the next sync")
        elif updates:
            targets.add(target)
            # Its marks kept: a milestone the stored incident lacks (its resolution, when it
            # was first read going on) is filled from the update that states it.
            document = mapping.to_document(incident, **common, updates=updates, source_known=True)
            document["same_as"] = target
            result.add(document, incident, "gained")
    # A source stored already but cited by no incident is named by its URL, or its title and
    # note (which carry the fetch date) would conflict with the stored row.
    known = sources_by_url([incident.url for incident in new])
    common_new = [{**common, "source_known": incident.url in known} for incident in new]
    documents = [mapping.to_document(i, **c) for i, c in zip(new, common_new, strict=True)]
    decide(result, new, documents, provider, targets, common_new)
    return result


def decide(result, new, documents, provider, targets, commons):
    """New drafts, or merges into the stored incident each is likely the same outage as."""
    if not new:
        return
    names = stored_names({})
    documents = [stored_by_key(document, provider, names) for document in documents]
    candidates = [candidate(document, provider, names) for document in documents]
    found = {id(c): (reasons, earlier) for c, reasons, earlier in duplicates.matches(candidates)}
    stored_slugs = {
        slug for reasons, earlier in found.values() for slug in reasons if slug not in earlier
    }
    starts, synced_hosts = stored_facts(stored_slugs)
    for incident, document, common, mine in zip(new, documents, commons, candidates, strict=True):
        reasons, earlier = found.get(id(mine), ({}, {}))
        host = urlsplit(incident.url).netloc
        # Two incidents of the same page are two incidents as the provider counts them.
        apart = [slug for slug in reasons if slug in earlier or host in synced_hosts[slug]]
        choices = [slug for slug in reasons if slug not in apart and slug not in targets]

        def rank(slug, reasons=reasons, mine=mine):
            shared = any("shared source" in why for why in reasons[slug])
            start = starts.get(slug)
            gap = abs(start - mine.started_at) if start and mine.started_at else None
            return (not shared, -len(reasons[slug]), gap is None, gap)

        choices.sort(key=rank)
        if choices:
            target = choices[0]
            targets.add(target)
            why = "; ".join(reasons[target])
            if len(choices) > 1:
                why += f" (chosen over {', '.join(choices[1:])})"
            document = mapping.to_document(incident, **common, same_as=target)
            result.add(document, incident, "merged")
            result.merged.append((incident.url, target, why))
            continue
        if reasons:
            document = mapping.to_document(incident, **common, not_duplicate_of=sorted(reasons))
            document = stored_by_key(document, provider, names)
        result.add(document, incident, "new")


def stored_by_key(document, provider, names):
    """The document with each service and region we already hold named by its key alone. Given
    in full, a stored row whose name an editor corrected since (or the provider now writes in
    other letters) would be a conflict refusing the whole sync; the provider's spelling is not
    ours to write over. Only components and locations new to us are given in full."""
    for name, model, key in [("services", Service, "slug"), ("regions", Region, "code")]:
        refs = {}  # key -> reference, each row once
        for ref in document.get(name, []):
            if not isinstance(ref, str):
                for text in (ref[key], ref["name"]):
                    rows = names.match(model, provider.slug, text)
                    if len(rows) == 1 and rows[0][0].pk is not None:
                        ref = getattr(rows[0][0], key)
                        break
            refs.setdefault(ref if isinstance(ref, str) else ref[key], ref)
        if refs:
            document[name] = list(refs.values())
    return document


def new_rows(documents):
    """The services and regions new drafts create ("service Example API"): stored_by_key()
    names those we hold by their key, so the ones still given in full are new to us. Created
    like any imported row, they wait for an editor to confirm the name or make it an alias."""
    found = {}
    for document in documents:
        if "same_as" in document:
            continue  # a merge adds events and sources only
        for name, key in [("services", "slug"), ("regions", "code")]:
            for ref in document.get(name, []):
                if not isinstance(ref, str):
                    found.setdefault((name, ref[key]), f"{name[:-1]} {ref['name']}")
    return list(found.values())


def candidate(document, provider, names):
    """The duplicates.Candidate of a new incident's document, its services and regions named
    as the importer will resolve them (stored names and aliases)."""
    sources = [ref if isinstance(ref, str) else ref["url"] for ref in document.get("sources", [])]
    return duplicates.Candidate(
        slug=document["slug"],
        title=document["title"],
        provider=provider.slug,
        started_at=start_of(document),
        services=resolved(names, Service, provider.slug, document.get("services", []), "slug"),
        regions=resolved(names, Region, provider.slug, document.get("regions", []), "code"),
        urls=frozenset(sources),
        time_zone=document.get("time_zone") or "UTC",
        provider_id=provider.pk,
    )


def resolved(names, model, provider, refs, key):
    keys = set()
    for ref in refs:
        given = [ref] if isinstance(ref, str) else [ref.get(key), ref.get("name")]
        for text in filter(None, given):
            rows = names.match(model, provider, text)
            if len(rows) == 1:
                keys.add(getattr(rows[0][0], key))
                break
        else:
            keys.add(ref if isinstance(ref, str) else ref.get(key) or ref.get("name"))
    return frozenset(keys)


def start_of(document):
    """The document's start as the importer will read it: started_at, else the time of the
    event that marks the start."""
    value = document.get("started_at")
    if value is None:
        value = next(
            (e["at"] for e in document.get("timeline", []) if e.get("marks") == "started"), None
        )
    written = read_time(value) if isinstance(value, str) else None
    if written is None or written.value.tzinfo is None:
        return None
    return written.value


def citing_incidents(urls):
    """{url: [slugs of stored incidents citing it as a source]}: one query per thousand URLs."""
    links = Incident.sources.through.objects
    found = defaultdict(list)
    for batch in batches(urls):
        rows = links.filter(source__url__in=batch).order_by("incident_id")
        for url, slug in rows.values_list("source__url", "incident__slug"):
            found[url].append(slug)
    return found


def sources_by_url(urls):
    """{url: Source} of the stored sources among `urls`: one query per thousand."""
    return {
        source.url: source
        for batch in batches(urls)
        for source in Source.objects.filter(url__in=batch)
    }


def stored_facts(slugs):
    """({slug: started_at}, {slug: hosts of the status pages it was synced from}) of stored
    incidents: two queries. An incident was synced from a page when one of its sources holds a
    copy of a provider incident's data, which only a sync stores (archive_sources keeps pages, a
    series of their own). A hand-written incident citing a status page is not."""
    starts = dict(Incident.objects.filter(slug__in=slugs).values_list("slug", "started_at"))
    hosts = defaultdict(set)
    copies = ArchivedCopy.objects.filter(
        source__incidents__slug__in=slugs, kind=ArchivedCopy.Kind.SYNC
    ).order_by()
    for slug, url in copies.values_list("source__incidents__slug", "url").distinct():
        hosts[slug].add(urlsplit(url).netloc)
    return starts, hosts


def previous_bodies(urls):
    """{url: body of the latest copy a sync kept of it}: one query per thousand URLs."""
    return {
        copy.url: copy.content
        for copies in archive.latest_in_series(urls, ArchivedCopy.Kind.SYNC)
        for copy in copies
    }


def previous_incident(format, body, url):
    """The ProviderIncident of an archived copy of one provider incident, or None when there
    is none or it cannot be read back (then every update is offered, and the importer skips
    those already in the timeline)."""
    if body is None or format not in ALONE:
        return None
    try:
        alone = ALONE[format](json.loads(body))
        incidents = status_pages.parse(format, alone, url=url)
    except (ValueError, status_pages.ParseFailed):
        return None
    return incidents[0] if len(incidents) == 1 else None


def edited(before, now, said):
    """Whether the provider changed what it had said: an update's text, the title or the
    postmortem."""
    return (
        any(said[update.id] != update.text for update in now.updates if update.id in said)
        or before.title != now.title
        or before.postmortem != now.postmortem
    )


def count(plan, imported, report):
    """What the importer did, in the report's words."""
    done = {entry.slug: entry for entry in imported.incidents}
    for document, kind in zip(plan.documents, plan.kinds, strict=True):
        slug = document.get("same_as", document["slug"])
        entry = done.get(slug)
        if kind == "new":
            report.created.append(slug)
            continue
        events = sum(
            1 for what, action in entry.rows if what.startswith("timeline") and action == "created"
        ) if entry else 0  # fmt: skip
        if kind == "gained":
            if events:
                report.gained[slug] = events
            else:
                report.unchanged += 1
    for url, target, why in plan.merged:
        report.merged.append((url, target, why))
        report.details.append(f"{url} merged into {target}: {why}")
