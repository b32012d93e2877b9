"""The incident list's filters, search, sorting and facet counts, shared by the page, its feeds and
the JSON API, so that one URL query string means the same thing everywhere."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import ExtractYear

from . import search
from .models import Customer, CustomerImpact, Incident, Provider, Region, Service

# Levels a reader can filter on ("customers reported down / degraded").
HIT_LEVELS = [CustomerImpact.Level.OUTAGE, CustomerImpact.Level.DEGRADED]
# A customer was hit unless the sources say it was not affected ("affected" = hit, how unknown).
WAS_HIT = ~Q(level=CustomerImpact.Level.NOT_AFFECTED)
FACET_LIMIT = 12


class KeyField(forms.ModelChoiceField):
    """A choice of service or region named "<provider slug>.<service slug or region code>".

    Services and regions are unique only within a provider, so the key carries both; a dot
    cannot occur in either half.
    """

    def __init__(self, *args, key_field, **kwargs):
        self.key_field = key_field
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        provider_slug, dot, key = str(value).partition(".")
        try:
            if not dot:
                raise self.queryset.model.DoesNotExist
            return self.queryset.get(provider__slug=provider_slug, **{self.key_field: key})
        except self.queryset.model.DoesNotExist:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class KeyFilter(django_filters.ModelChoiceFilter):
    field_class = KeyField


def key_of(obj):
    """The URL key of a service or region, the inverse of KeyField."""
    return f"{obj.provider.slug}.{getattr(obj, 'code', None) or obj.slug}"


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
        queryset=Provider.objects.all(),
        to_field_name="slug",
        error_messages={"invalid_choice": "There is no provider by that name."},
    )
    service = KeyFilter(
        queryset=Service.objects.all(),
        field_name="services",
        key_field="slug",
        distinct=True,
        error_messages={"invalid_choice": "There is no service by that name."},
    )
    region = KeyFilter(
        queryset=Region.objects.all(),
        field_name="regions",
        key_field="code",
        distinct=True,
        error_messages={"invalid_choice": "There is no region by that name."},
    )
    customer = django_filters.ModelChoiceFilter(
        queryset=Customer.objects.all(),
        to_field_name="slug",
        method="filter_customer",
        label="Customer hit",
        error_messages={"invalid_choice": "There is no customer by that name."},
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
        choices=[(level.value, level.label) for level in HIT_LEVELS],
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
        hit = CustomerImpact.objects.filter(WAS_HIT, customer=value)
        return queryset.filter(pk__in=hit.values("incident"))

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
    if order == "relevance":
        return queryset.order_by("-rank", "-started_at", "slug")
    if order == "oldest":
        return queryset.order_by(F("started_at").asc(nulls_last=True), "slug")
    if order == "longest":
        span = ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField())
        return queryset.annotate(span=span).order_by(F("span").desc(nulls_last=True), "slug")
    if order == "customers":
        return queryset.annotate(
            hit_count=Count(
                "impacts",
                filter=~Q(impacts__level=CustomerImpact.Level.NOT_AFFECTED),
                distinct=True,
            )
        ).order_by("-hit_count", "-started_at", "slug")
    return queryset.order_by(F("started_at").desc(nulls_last=True), "slug")


def facets(queryset):
    """Counts of the current results by each facet, largest first.

    Each count runs over the ids of the result set (a subquery), so the joins a facet needs do
    not interfere with the joins the filters used.
    """
    ids = queryset.order_by().values("pk")
    base = Incident.objects.filter(pk__in=ids)
    providers = (
        Provider.objects.filter(incidents__in=ids)
        .annotate(count=Count("incidents"))
        .order_by("-count", "name")
    )
    services = (
        Service.objects.filter(incidents__in=ids)
        .select_related("provider")
        .annotate(count=Count("incidents"))
        .order_by("-count", "name")[:FACET_LIMIT]
    )
    regions = (
        Region.objects.filter(incidents__in=ids)
        .select_related("provider")
        .annotate(count=Count("incidents"))
        .order_by("-count", "code")[:FACET_LIMIT]
    )
    customers = (
        Customer.objects.filter(
            impacts__in=CustomerImpact.objects.filter(WAS_HIT, incident__in=ids)
        )
        .annotate(count=Count("impacts__incident", distinct=True))
        .order_by("-count", "name")[:FACET_LIMIT]
    )
    causes = base.order_by().values("root_cause_category").annotate(count=Count("pk"))
    cause_labels = dict(Incident.Cause.choices)
    years = (
        base.filter(started_at__isnull=False)
        .annotate(year=ExtractYear("started_at"))
        .order_by()
        .values("year")
        .annotate(count=Count("pk"))
        .order_by("-year")
    )
    impacts = base.aggregate(
        **{
            level.value: Count("pk", filter=Q(impacts__level=level), distinct=True)
            for level in HIT_LEVELS
        }
    )
    return [
        ("provider", "Provider", [(p.slug, p.name, p.count) for p in providers]),
        ("service", "Service", [(key_of(s), s.name, s.count) for s in services]),
        ("region", "Region", [(key_of(r), r.code, r.count) for r in regions]),
        ("customer", "Customer hit", [(c.slug, c.name, c.count) for c in customers]),
        (
            "cause",
            "Root cause",
            sorted(
                (
                    (row["root_cause_category"], cause_labels.get(row["root_cause_category"], ""))
                    + (row["count"],)
                    for row in causes
                ),
                key=lambda item: (-item[2], item[1]),
            ),
        ),
        ("year", "Year", [(str(row["year"]), str(row["year"]), row["count"]) for row in years]),
        (
            "impact",
            "Customers reported",
            [
                (level.value, level.label, impacts[level.value])
                for level in HIT_LEVELS
                if impacts[level.value]
            ],
        ),
    ]
