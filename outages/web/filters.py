"""The incident list's filters, search, sorting and facet counts, shared by the page, its feeds and
the JSON API, so that one URL query string means the same thing everywhere."""

import json
from collections import Counter

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.expressions import RawSQL

from outages import search
from outages.models import Customer, CustomerImpact, Incident, Provider, Region, Service

# The levels a reader can narrow the list to ("customers reported down / degraded"): the two
# hit levels that say how badly, not every level that counts as hit (CustomerImpact.HIT_LEVELS).
REPORTED_LEVELS = [CustomerImpact.Level.OUTAGE, CustomerImpact.Level.DEGRADED]
FACET_LIMIT = 12


class KeyField(forms.ModelChoiceField):
    """A choice of service or region by its key (ProviderScoped.key, e.g. "aws.elb")."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        lookup = self.queryset.model.key_lookup(value)
        try:
            if lookup is None:
                raise self.queryset.model.DoesNotExist
            return self.queryset.get(**lookup)
        except self.queryset.model.DoesNotExist:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class KeyFilter(django_filters.ModelChoiceFilter):
    """The incidents of the chosen service or region (Incident.objects.involving)."""

    field_class = KeyField

    def filter(self, queryset, value):
        if value is None:
            return queryset
        return queryset.involving(**{self.field_name: value})


# `through` takes a service key, or this: hit without the sources saying through which service.
NOT_STATED = "not-stated"


class ThroughField(KeyField):
    def to_python(self, value):
        return NOT_STATED if value == NOT_STATED else super().to_python(value)


class ThroughFilter(django_filters.ModelChoiceFilter):
    field_class = ThroughField


class IncidentFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise ValidationError("The start of the date range is after its end.")
        return data


SORTS = {
    "relevance": "Best match",
    "newest": "Newest first",
    "oldest": "Oldest first",
    "longest": "Longest first",
    "customers": "Most customers hit",
}


class IncidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    provider = django_filters.ModelChoiceFilter(
        queryset=Provider.objects.visible(),
        to_field_name="slug",
        error_messages={"invalid_choice": "There is no provider by that name."},
    )
    service = KeyFilter(
        queryset=Service.objects.visible(),
        field_name="service",
        label="Services",
        error_messages={"invalid_choice": "There is no service by that name."},
    )
    region = KeyFilter(
        queryset=Region.objects.visible(),
        field_name="region",
        label="Regions",
        error_messages={"invalid_choice": "There is no region by that name."},
    )
    customer = django_filters.ModelChoiceFilter(
        queryset=Customer.objects.visible(),
        to_field_name="slug",
        method="filter_customer",
        label="Customer hit",
        error_messages={"invalid_choice": "There is no customer by that name."},
    )
    # Hit through a service as the sources state it (the customer map's cells link here): with
    # `customer`, that customer's impact names the service; alone, any customer's does.
    through = ThroughFilter(
        queryset=Service.objects.visible(),
        method="filter_through",
        label="Hit through",
        error_messages={"invalid_choice": "There is no service by that name."},
    )
    cause = django_filters.ChoiceFilter(
        field_name="root_cause_category", choices=Incident.Cause.choices, label="Root cause"
    )
    year = django_filters.NumberFilter(
        field_name="started_at", lookup_expr="year", min_value=1900, max_value=2999, label="Year"
    )
    since = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__gte", label="Started on or after"
    )
    until = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__lte", label="Started on or before"
    )
    impact = django_filters.ChoiceFilter(
        choices=[(level.value, level.label) for level in REPORTED_LEVELS],
        method="filter_impact",
        label="Customers reported",
    )
    sort = django_filters.ChoiceFilter(
        choices=list(SORTS.items()), method="sort_results", empty_label="Default"
    )

    class Meta:
        model = Incident
        fields = []
        form = IncidentFilterForm

    def filter_search(self, queryset, name, value):
        return search.matching(queryset, value)

    def filter_customer(self, queryset, name, value):
        return queryset.involving(customer=value)

    def filter_through(self, queryset, name, value):
        service = None if value == NOT_STATED else value
        return queryset.hit_through(service, customer=self.form.cleaned_data.get("customer"))

    def filter_impact(self, queryset, name, value):
        return queryset.filter(pk__in=CustomerImpact.objects.filter(level=value).values("incident"))

    def sort_results(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset, once every filter has run

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return sort(queryset, self.sort_order())

    def sort_order(self):
        data = self.form.cleaned_data if self.form.is_valid() else {}
        if data.get("sort"):
            if data["sort"] == "relevance" and not data.get("q"):
                return "newest"
            return data["sort"]
        return "relevance" if data.get("q") else "newest"

    @property
    def qs(self):
        # An invalid filter gives no results (with its message on the page), never everything:
        # a mistyped bookmark must not quietly widen to the whole list.
        if self.is_bound and not self.form.is_valid():
            return self.queryset.none()
        return super().qs


def sort(queryset, order):
    """The order a reader chose; ties, and unknown starts, go as Incident's one order has them."""
    if order == "relevance":
        return queryset.newest_first("-rank")
    if order == "oldest":
        return queryset.oldest_first()
    if order == "longest":
        span = ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField())
        return queryset.annotate(span=span).newest_first(F("span").desc(nulls_last=True))
    if order == "customers":
        return queryset.annotate(
            hit_count=Count(
                "impacts", filter=CustomerImpact.hit_condition(via="impacts__"), distinct=True
            )
        ).newest_first("-hit_count")
    return queryset.newest_first()


def among(model, ids):
    """A condition on `model`'s incident column: it is one of `ids`, sent as one parameter
    however many there are. PostgreSQL folds the text into a constant array and tests it with a
    hash, scanning the narrow join table once; SQLite reads the ids from JSON."""
    column = f'"{model._meta.db_table}"."incident_id"'
    ids = list(ids)
    if connection.vendor == "postgresql":
        sql = f"{column} = ANY(string_to_array(%s, ',')::bigint[])"
        return RawSQL(sql, (",".join(map(str, ids)),), output_field=BooleanField())
    sql = f"{column} IN (SELECT value FROM json_each(%s))"
    return RawSQL(sql, (json.dumps(ids),), output_field=BooleanField())


def facet_counts(queryset, *fields):
    """Rows of `fields` with how many incidents each covers, largest first, at most FACET_LIMIT."""
    return list(
        queryset.order_by()
        .values_list(*fields)
        .annotate(count=Count("incident_id"))
        .order_by("-count", fields[0])[:FACET_LIMIT]
    )


def customer_facets(ids):
    """([(name, slug, hits)] of the FACET_LIMIT customers hit most among these incidents, most
    first and then by name; {level: impacts} of the REPORTED_LEVELS among them).

    One grouped query over the incidents' impacts, by customer id alone, counts both, so the
    impacts are read once and no customer row is joined to thousands of them; then the names
    of the customers that can lead (those hit at least as often as the FACET_LIMIT-th),
    usually a few more than FACET_LIMIT: the ties at the limit are ordered by name.
    """
    counted = list(
        CustomerImpact.objects.hits()
        .filter(among(CustomerImpact, ids))
        .order_by()
        .values_list("customer_id")
        .annotate(
            hits=Count("pk"),
            **{level.value: Count("pk", filter=Q(level=level)) for level in REPORTED_LEVELS},
        )
    )
    impacts = {
        level.value: sum(row[2 + index] for row in counted)
        for index, level in enumerate(REPORTED_LEVELS)
    }
    counted.sort(key=lambda row: -row[1])
    if len(counted) > FACET_LIMIT:
        least = counted[FACET_LIMIT - 1][1]
        counted = [row for row in counted if row[1] >= least]
    hits = {row[0]: row[1] for row in counted}
    names = Customer.objects.filter(pk__in=list(hits)).values_list("pk", "name", "slug")
    leaders = sorted(
        ((name, slug, hits[pk]) for pk, name, slug in names),
        key=lambda row: (-row[2], row[0], row[1]),
    )
    return leaders[:FACET_LIMIT], impacts


def facets(rows):
    """Counts of the results (rows from outages.web.results.found) by each facet, largest first.

    Provider, cause and year come from the rows themselves; services and regions from one
    grouped query each over a narrow join table, restricted to the result ids (each table has
    one row per incident and service or region); customers and impact levels from one grouped
    query over the impacts (customer_facets).
    """
    ids = [row[0] for row in rows]
    providers = Counter(row[1] for row in rows)
    causes = Counter(row[2] for row in rows)
    years = Counter(row[3] for row in rows if row[3] is not None)
    through = {"service": Incident.services.through, "region": Incident.regions.through}
    services = facet_counts(
        through["service"].objects.filter(among(through["service"], ids)),
        "service__name",
        "service__slug",
        "service__provider__slug",
    )
    regions = facet_counts(
        through["region"].objects.filter(among(through["region"], ids)),
        "region__code",
        "region__provider__slug",
    )
    customers, impacts = customer_facets(ids)
    provider_rows = Provider.objects.filter(pk__in=list(providers)) if providers else []
    cause_labels = dict(Incident.Cause.choices)
    return [
        (
            "provider",
            "Provider",
            sorted(
                ((p.slug, p.name, providers[p.pk]) for p in provider_rows),
                key=lambda item: (-item[2], item[1]),
            ),
        ),
        (
            "service",
            "Service",
            [(Service.make_key(p, slug), name, n) for name, slug, p, n in services],
        ),
        ("region", "Region", [(Region.make_key(p, code), code, n) for code, p, n in regions]),
        ("customer", "Customer hit", [(slug, name, n) for name, slug, n in customers]),
        (
            "cause",
            "Root cause",
            sorted(
                ((cause, cause_labels.get(cause, ""), count) for cause, count in causes.items()),
                key=lambda item: (-item[2], item[1]),
            ),
        ),
        (
            "year",
            "Year",
            [(str(year), str(year), years[year]) for year in sorted(years, reverse=True)],
        ),
        (
            "impact",
            "Customers reported",
            [
                (level.value, level.label, impacts[level.value])
                for level in REPORTED_LEVELS
                if impacts.get(level.value)
            ],
        ),
    ]
