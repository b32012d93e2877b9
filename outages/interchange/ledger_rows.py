"""Planning a document's promise ledger: each action item's `history` (its states, with the date
each was stated, as precisely as the source gives it, and the source) and its `links` to later
incidents.

An item without `history` has the one entry every item without one reads as
(models.implicit_state): its status, date unknown, its own source. Given, the history's latest
state must be the item's `status`. History entries are numbered through the incident in the
document's order (the items', then each item's entries'), so export → import → export is the
same. Links may name a later incident stored already or anywhere in the same run: they are
written once every incident of the run is (write_links), with a revision of their incident."""

import re
from dataclasses import dataclass
from datetime import date

from outages.models import ActionItem, ActionItemState, Incident, Precision, PromiseLink

WRITTEN_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def read_date(value):
    """(date, precision) of "2012", "2012-12" or "2012-12-29"; (None, day) for None; None for
    text that is no such date."""
    if value is None:
        return None, Precision.DATE
    match = WRITTEN_DATE.match(value)
    if match is None:
        return None
    year, month, day = match.groups()
    precision = Precision.DATE if day else Precision.MONTH if month else Precision.YEAR
    try:
        return date(int(year), int(month or 1), int(day or 1)), precision
    except ValueError:
        return None


@dataclass
class PlannedLinks:
    change: object  # the Change of the incident whose items they are
    document: object
    base: list  # the incident's path in its document
    links: list  # (action item, link data, path within the incident)


class Ledger:
    """The Importer's planning of action items' histories and links (see importing.Importer
    for the state it keeps; `planned_links` is its list of PlannedLinks)."""

    def plan_ledger(self, change, stored, items, by_url):
        """Plan the history entries of the document's action items (rows numbered through the
        incident); keep their links for write_links(). Returns the report's rows."""
        new, changed, _ = change.rows[ActionItem]
        by_position = dict(stored.rows[ActionItem]) if stored else {}
        by_position.update((row.position, row) for row in [*new, *changed])
        entries, links = [], []
        for index, item in enumerate(items):
            at = ["action_items", index]
            row = by_position.get(item.get("position", index + 1))
            if row is None:
                continue  # refused already
            history = item.get("history") or [
                {"state": item["status"], "date": None, "source": item.get("source")}
            ]
            if history[-1]["state"] != item["status"]:
                self.fail(
                    at + ["status"],
                    f"“{item['status']}” is not the latest state of the history "
                    f"(“{history[-1]['state']}”); give the same",
                )
            for number, entry in enumerate(history):
                entries.append({"row": row, "data": entry, "at": at + ["history", number]})
            links += [
                (row, link, at + ["links", n]) for n, link in enumerate(item.get("links", []))
            ]
        self.planned_links.append(PlannedLinks(change, self.document, self.base, links))

        def values(entry, _):
            row, data, at = entry["row"], entry["data"], entry["at"]
            read = read_date(data.get("date"))
            if read is None:
                self.fail(at + ["date"], f"“{data['date']}” is not a date such as 2012-12-29")
                read = (None, Precision.DATE)
            return {
                "action_item": row,
                "state": data["state"],
                "stated_on": read[0],
                "stated_on_precision": read[1],
                "source": self.cited(data.get("source"), by_url, at + ["source"]),
            }

        return self.plan_numbered(change, stored, ActionItemState, "history", entries, values)

    def write_links(self):
        """Write the links of every incident planned in this run, once all of them are written:
        each incident's links as its document gives them (matched by position through the
        incident), with a revision of each incident whose links changed. Returns those incidents'
        pks."""
        slugs = {data["incident"] for plan in self.planned_links for _, data, _ in plan.links}
        known = {plan.change.incident.slug: plan.change.incident for plan in self.planned_links}
        missing = slugs - set(known)
        known.update(Incident.objects.filter(slug__in=missing).in_bulk(field_name="slug"))
        stored = PromiseLink.objects.filter(
            incident__in=[plan.change.incident.pk for plan in self.planned_links]
        ).select_related("action_item", "later_incident", "source")
        by_incident = {}
        for link in stored:
            by_incident.setdefault(link.incident_id, {})[link.position] = link
        touched = []
        for plan in self.planned_links:
            incident = plan.change.incident
            self.document, self.base = plan.document, plan.base
            wanted, by_url = {}, self.sources_of(incident) if plan.links else {}
            for number, (item, data, at) in enumerate(plan.links, 1):
                later = known.get(data["incident"])
                if later is None:
                    self.fail(at + ["incident"], f"there is no incident “{data['incident']}”")
                    continue
                link = PromiseLink(
                    incident=incident,
                    position=number,
                    action_item=item,
                    later_incident=later,
                    kind=data["kind"],
                    note=data["note"],
                    source=self.cited(data["source"], by_url, at + ["source"]),
                )
                if self.validate(link, at, exclude=["incident", "action_item", "source"]):
                    wanted[number] = link
            have = by_incident.get(incident.pk, {})
            if keys(have.values()) != keys(wanted.values()):
                PromiseLink.objects.filter(pk__in=[link.pk for link in have.values()]).delete()
                PromiseLink.objects.bulk_create(list(wanted.values()))
                touched.append(plan.change)
        return touched

    def sources_of(self, incident):
        return {source.url: source for source in incident.sources.all()}


def keys(links):
    """What a link says, to compare stored links with a document's."""
    return sorted(
        (link.position, link.action_item.position, link.later_incident.slug, link.kind)
        + (link.note, link.source.url if link.source else None)
        for link in links
    )
