"""Typed relations as an incident page shows them, and the cascade of a provider incident: the
customers it hit and the customers' own incidents it caused (IncidentRelation "caused"). Only
relations whose ends are both published reach readers (IncidentRelationQuerySet.shown())."""

from dataclasses import dataclass

from outages.charts.cascade import Branch, Node
from outages.models import IncidentRelation


def caused_by(incident, relations):
    """Of `incident`'s shown relations, the incidents it caused (stored on it as "caused")."""
    return [s for s in relations if s.stored_here and s.kind == IncidentRelation.Kind.CAUSED]


def has_cascade(incident, relations, impacts):
    """Whether the cascade page has something to show: a customer hit (of `impacts`, its
    impacts as its page read them), or an incident caused."""
    return any(impact.was_hit for impact in impacts) or bool(caused_by(incident, relations))


@dataclass
class CascadeRow:
    customer: object  # None for an incident caused at an organisation not listed as hit
    impact: object
    caused: list  # of Shown


def cascade_rows(hits, caused):
    """A row per customer hit (worst hit first, then by name), with the incidents of its own the
    provider's incident caused: those of the provider entry of the same organisation
    (Customer.provider). Caused incidents of an organisation not listed as hit come last, a row
    each."""
    rows = []
    for impact in sorted(hits, key=lambda impact: impact.severity_rank):
        customer = impact.customer
        own = [s for s in caused if customer.provider_id == s.other.provider_id]
        rows.append(CascadeRow(customer, impact, own))
    placed = {id(s) for row in rows for s in row.caused}
    rows += [CascadeRow(None, None, [s]) for s in caused if id(s) not in placed]
    return rows


def cascade_branches(rows):
    """The drawing's branches (charts.cascade) for these rows."""
    branches = []
    for row in rows:
        caused = tuple(
            Node(s.other.title, s.other.get_absolute_url(), s.other.provider.name)
            for s in row.caused
        )
        if row.customer is None:
            provider = row.caused[0].other.provider
            top = Node(provider.name, "", "not listed as hit")
        else:
            impact = row.impact
            top = Node(
                row.customer.name,
                row.customer.get_absolute_url(),
                impact.get_level_display(),
                f"level-{impact.level}",
            )
        branches.append(Branch(top, caused))
    return branches
