"""Reference rows: providers, their services and regions, customers, the aliases all four go by,
and the sources incidents cite. Each has a natural key, so fixtures name rows, not numbers."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.urls import reverse

from outages.models.base import TextChecked, from_1970, validate_content_date
from outages.models.versioned import versioned
from outages.models.visibility import (
    CustomerQuerySet,
    ProviderQuerySet,
    RegionQuerySet,
    ServiceQuerySet,
    published_field,
)
from outages.names import normalise_name


class ProviderManager(models.Manager.from_queryset(ProviderQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


@versioned(follow=["aliases"])
class Provider(TextChecked):
    name = models.CharField(max_length=100, help_text="As the provider names itself.")
    slug = models.SlugField(max_length=100, unique=True)
    homepage_url = models.URLField("homepage URL", blank=True)
    description = models.TextField(blank=True, help_text="One or two plain sentences.")
    published = published_field()

    objects = ProviderManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("outages:provider", args=[self.slug])

    def natural_key(self):
        return (self.slug,)


class ProviderScoped(TextChecked):
    """A service or region: unique only within its provider, so named across providers by its
    key, "<provider slug>.<slug or code>", as ?service= and ?region= take it. A dot can occur
    in neither half."""

    KEY = re.compile(r"([-a-zA-Z0-9_]+)\.([-a-zA-Z0-9_]+)")  # two slugs, as in the URL paths
    own_key = "slug"  # the field that names the row within its provider

    class Meta:
        abstract = True

    @staticmethod
    def make_key(provider_slug, own):
        """The key from its two halves, for rows read as values."""
        return f"{provider_slug}.{own}"

    @property
    def key(self):
        """The row's key (its provider preloaded, or one query)."""
        return self.make_key(self.provider.slug, getattr(self, self.own_key))

    @classmethod
    def key_lookup(cls, key):
        """The lookup that finds the row `key` names, or None when `key` is not two slugs: such
        a value names nothing and must not reach the database (PostgreSQL refuses a NUL)."""
        match = cls.KEY.fullmatch(str(key))
        if not match:
            return None
        provider_slug, own = match.groups()
        return {"provider__slug": provider_slug, cls.own_key: own}


class ServiceManager(models.Manager.from_queryset(ServiceQuerySet)):
    def get_by_natural_key(self, provider_slug, slug):
        return self.get(provider__slug=provider_slug, slug=slug)


@versioned(follow=["aliases"])
class Service(ProviderScoped):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    published = published_field()

    objects = ServiceManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "slug"], name="service_slug_unique_per_provider"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("outages:service", args=[self.provider.slug, self.slug])

    def natural_key(self):
        return (self.provider.slug, self.slug)

    natural_key.dependencies = ["outages.provider"]


class RegionManager(models.Manager.from_queryset(RegionQuerySet)):
    def get_by_natural_key(self, provider_slug, code):
        return self.get(provider__slug=provider_slug, code=code)


@versioned(follow=["aliases"])
class Region(ProviderScoped):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="regions")
    code = models.SlugField(max_length=50, help_text="The provider's own code, e.g. us-east-1.")
    name = models.CharField(max_length=100, help_text="e.g. US East (N. Virginia).")
    published = published_field()

    objects = RegionManager()

    own_key = "code"

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "code"], name="region_code_unique_per_provider"
            )
        ]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def get_absolute_url(self):
        return reverse("outages:region", args=[self.provider.slug, self.code])

    def natural_key(self):
        return (self.provider.slug, self.code)

    natural_key.dependencies = ["outages.provider"]


class CustomerManager(models.Manager.from_queryset(CustomerQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


@versioned(follow=["aliases"])
class Customer(TextChecked):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    url = models.URLField("URL", blank=True)
    description = models.TextField(blank=True)
    provider = models.OneToOneField(
        Provider,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="as_customer",
        help_text="When this organisation is also a provider (Heroku), its provider entry.",
    )
    published = published_field()

    objects = CustomerManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("outages:customer", args=[self.slug])

    def natural_key(self):
        return (self.slug,)


class AliasManager(models.Manager):
    def get_by_natural_key(self, kind, owner_key, normalised):
        owner = Alias.KINDS[kind]._default_manager.get_by_natural_key(*owner_key)
        return self.get(**{kind: owner, "normalised": normalised})


@versioned()
class Alias(TextChecked):
    """Another name a provider, service, region or customer goes by ("AWS", "Prime Instant
    Video"). Imports resolve names through aliases; exactly one of the four owners is set.

    One model rather than one per kind: one rule for names, one inline, and the importer reads
    every alias with one query.
    """

    KINDS = {"provider": Provider, "service": Service, "region": Region, "customer": Customer}

    name = models.CharField(max_length=100, help_text="Another name it is known by, e.g. AWS.")
    normalised = models.CharField(
        max_length=100,
        editable=False,
        help_text="The name as names are compared: see outages.names.normalise_name.",
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    # The provider of the service or region, copied from it: their aliases are unique per
    # provider, and a constraint sees only this row.
    scope = models.ForeignKey(
        Provider, on_delete=models.CASCADE, null=True, blank=True, editable=False, related_name="+"
    )

    objects = AliasManager()

    class Meta:
        verbose_name_plural = "aliases"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(provider__isnull=False, service=None, region=None, customer=None)
                    | Q(provider=None, service__isnull=False, region=None, customer=None)
                    | Q(provider=None, service=None, region__isnull=False, customer=None)
                    | Q(provider=None, service=None, region=None, customer__isnull=False)
                ),
                name="alias_has_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(scope__isnull=False, service__isnull=False)
                | Q(scope__isnull=False, region__isnull=False)
                | Q(scope=None, service=None, region=None),
                name="alias_scoped_to_provider_of_service_or_region",
            ),
            models.CheckConstraint(condition=~Q(normalised=""), name="alias_has_letters"),
            models.UniqueConstraint(
                fields=["normalised"],
                condition=Q(provider__isnull=False),
                name="alias_unique_among_providers",
            ),
            models.UniqueConstraint(
                fields=["normalised"],
                condition=Q(customer__isnull=False),
                name="alias_unique_among_customers",
            ),
            models.UniqueConstraint(
                fields=["scope", "normalised"],
                condition=Q(service__isnull=False),
                name="alias_unique_among_services_of_provider",
            ),
            models.UniqueConstraint(
                fields=["scope", "normalised"],
                condition=Q(region__isnull=False),
                name="alias_unique_among_regions_of_provider",
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        kind, owner = self.owner()
        return (kind, tuple(owner.natural_key()), normalise_name(self.name))

    natural_key.dependencies = [
        "outages.provider",
        "outages.service",
        "outages.region",
        "outages.customer",
    ]

    def owner(self):
        """(kind, row) of the one owner set, e.g. ("service", <Service: Amazon EBS>); (None,
        None) when none is set yet."""
        for kind in self.KINDS:
            if getattr(self, f"{kind}_id") is not None or self._meta.get_field(kind).is_cached(
                self
            ):
                row = getattr(self, kind)
                if row is not None:
                    return kind, row
        return None, None

    def derive(self):
        """Set the fields copied from the name and the owner (on clean and on every save)."""
        self.normalised = normalise_name(self.name)
        kind, owner = self.owner()
        scoped = kind in ("service", "region") and owner.provider_id is not None
        self.scope = owner.provider if scoped else None

    def clean(self):
        super().clean()
        self.derive()
        if not self.normalised:
            raise ValidationError({"name": "A name needs at least one letter or digit."})
        kind, owner = self.owner()
        if owner is None:
            return  # the form's owner is not saved yet; the constraints still hold on save
        clash = self.clash(kind, owner)
        if clash:
            raise ValidationError({"name": clash})

    def clash(self, kind, owner):
        """Why this name cannot be the alias (the constraints, mirrored, and that an alias may
        not be another row's name or key), or ""."""
        model = self.KINDS[kind]
        same_kind = {f"{kind}__isnull": False}
        others = model._default_manager.exclude(pk=owner.pk)
        if kind in ("service", "region"):
            same_kind["scope"] = self.scope
            others = others.filter(provider=owner.provider)
        taken = (
            Alias.objects.filter(normalised=self.normalised, **same_kind)
            .exclude(pk=self.pk)
            .first()
        )
        label = model._meta.verbose_name
        if taken is not None:
            return f"“{taken.name}” is already an alias of the {label} {taken.owner()[1]}."
        key = "code" if model is Region else "slug"
        for other in others.only("name", key):
            if self.normalised in (normalise_name(other.name), normalise_name(getattr(other, key))):
                return f"“{self.name}” is the name of another {label}, {other}."
        return ""


class SourceManager(models.Manager):
    def get_by_natural_key(self, url):
        return self.get(url=url)


@versioned()
class Source(TextChecked):
    class Kind(models.TextChoices):
        OFFICIAL = "official", "Official postmortem"
        CUSTOMER = "customer", "Customer report"
        NEWS = "news", "News"
        STATUS = "status", "Status page"
        OTHER = "other", "Other"

    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    author = models.CharField(
        max_length=200, blank=True, help_text="Blank when the source names none."
    )
    published_on = models.DateField(null=True, blank=True, validators=[validate_content_date])
    date_note = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why the date is missing or how it is known, e.g. “not shown on the page”.",
    )
    url = models.URLField("URL", max_length=500, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    note = models.TextField(blank=True, help_text="What readers should know about this source.")

    objects = SourceManager()

    class Meta:
        # Undated sources last on every engine (SQLite and PostgreSQL differ on NULLs).
        ordering = [F("published_on").asc(nulls_last=True), "title"]
        constraints = [from_1970("published_on", "source")]

    def __str__(self):
        return f"{self.title} ({self.publisher})"

    def natural_key(self):
        return (self.url,)


@receiver(pre_save, sender="outages.Alias")
def derive_alias_fields(sender, instance, raw=False, **kwargs):
    """Alias.derive() on every save, fixtures' raw saves included. Touches only the row."""
    instance.derive()
