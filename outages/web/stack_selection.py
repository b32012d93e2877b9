"""A reader's stack, read from the query string of /my-stack/ and its feeds:

    /my-stack/?provider=aws&service=aws.elb&region=google-cloud.us-east1

Services and regions are keyed as on the incident list ("<provider slug>.<service slug or region
code>"). A key that names nothing is listed back to the reader and ignored. Keys are matched
against the reference rows in memory, so no value a reader types ever reaches the database.
"""

import operator
import re
from dataclasses import dataclass, field
from functools import cached_property, reduce

from django.db.models import Prefetch
from django.http import QueryDict

from outages.models import Incident, Provider, Region, Service

PARAMETERS = ("provider", "service", "region")

UNKNOWN_SHOWN = 10  # unknown keys listed back to the reader; the rest are counted
UNKNOWN_LENGTH = 60  # characters of each unknown key shown
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Choice:
    """One checkbox of the form: a provider, service or region, its URL key and whether chosen."""

    parameter: str
    key: str
    obj: object
    chosen: bool = False

    @property
    def label(self):
        """As the form labels it, under its provider's heading."""
        return self.obj.code if self.parameter == "region" else self.obj.name

    @property
    def name(self):
        """In words on its own, e.g. "AWS", "AWS: Elastic Load Balancing", "AWS: us-east-1"."""
        if self.parameter == "provider":
            return self.obj.name
        return f"{self.obj.provider.name}: {self.label}"

    @property
    def field_id(self):
        # Keys are slugs joined by a dot, which an HTML id may contain.
        return f"stack-{self.parameter}-{self.key}"


@dataclass
class Group:
    """A provider with its services and regions, as the form shows them."""

    provider: Choice
    services: list = field(default_factory=list)
    regions: list = field(default_factory=list)

    @property
    def open(self):
        return any(choice.chosen for choice in [self.provider, *self.services, *self.regions])


@dataclass
class Stack:
    """What a query string selects: the groups with their choices ticked, and unknown keys
    (the first few, as (parameter, value shortened for display), and how many in all)."""

    groups: list
    unknown: list
    unknown_count: int
    asked: bool  # whether the query string names any provider, service or region, known or not

    @cached_property
    def chosen(self):
        """Chosen choices in the form's order: providers, then services, then regions."""
        every = [group.provider for group in self.groups]
        every += [choice for group in self.groups for choice in group.services]
        every += [choice for group in self.groups for choice in group.regions]
        return [choice for choice in every if choice.chosen]

    @property
    def unknown_hidden(self):
        """How many unknown keys are not listed back to the reader."""
        return self.unknown_count - len(self.unknown)

    def __bool__(self):
        return bool(self.chosen)

    @property
    def query(self):
        """The canonical query string of the selection (known keys only, in the form's order)."""
        return query_of(self.chosen)

    @property
    def removals(self):
        """Each chosen choice with the query string of the selection without it."""
        return [
            (choice, query_of([other for other in self.chosen if other is not choice]))
            for choice in self.chosen
        ]

    def incidents(self):
        """Published incidents that involve any chosen provider, service or region (unordered):
        the union of Incident.objects.involving() of each, in one query."""
        chosen = {}
        for choice in self.chosen:
            chosen.setdefault(choice.parameter, []).append(choice.obj)
        if not chosen:
            return Incident.objects.none()
        published = Incident.objects.published()
        each = [published.involving(**{kind: rows}) for kind, rows in chosen.items()]
        return reduce(operator.or_, each)


def query_of(choices):
    params = QueryDict(mutable=True)
    for choice in choices:
        params.appendlist(choice.parameter, choice.key)
    return f"?{params.urlencode()}" if params else ""


def read_stack(params):
    """The selection a query string names, in three queries (providers, services, regions)."""
    providers = (
        Provider.objects.visible()
        .order_by("name")
        .prefetch_related(
            # The prefetch sets each service's and region's provider, so their keys cost nothing.
            Prefetch("services", queryset=Service.objects.visible().order_by("name")),
            Prefetch("regions", queryset=Region.objects.visible().order_by("code")),
        )
    )
    choices = {parameter: {} for parameter in PARAMETERS}
    groups = []
    for provider in providers:
        group = Group(provider=Choice("provider", provider.slug, provider))
        group.services = [Choice("service", s.key, s) for s in provider.services.all()]
        group.regions = [Choice("region", r.key, r) for r in provider.regions.all()]
        choices["provider"][provider.slug] = group.provider
        choices["service"].update((choice.key, choice) for choice in group.services)
        choices["region"].update((choice.key, choice) for choice in group.regions)
        groups.append(group)

    unknown = {}
    for parameter in PARAMETERS:
        for value in params.getlist(parameter):
            if value in choices[parameter]:
                choices[parameter][value].chosen = True
            elif value.strip():
                unknown.setdefault((parameter, value), None)
    shown = [(parameter, shorten(value)) for parameter, value in list(unknown)[:UNKNOWN_SHOWN]]
    asked = any(params.getlist(parameter) for parameter in PARAMETERS)
    return Stack(groups=groups, unknown=shown, unknown_count=len(unknown), asked=asked)


def shorten(value):
    """An unknown key as it can safely be shown: printable, and not too long."""
    value = UNPRINTABLE.sub("", value)
    if len(value) > UNKNOWN_LENGTH:
        value = value[: UNKNOWN_LENGTH - 1] + "…"
    return value
