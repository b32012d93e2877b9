"""Aliases: other names of providers, services, regions and customers, compared case- and
accent-insensitively, kept in the admin, and used by the importer to resolve names."""

import pytest
import reversion
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from reversion.models import Version

from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer
from outages.models import Alias, Customer, Incident, Provider, Region, Service
from outages.names import normalise_name
from tests.shipped import load_shipped
from tests.test_import import NEW_INCIDENT, run, write


@pytest.fixture
def reference(db):
    load_shipped("fixtures/reference.json")


def document(text, name="a.yaml"):
    found, problems = read(name, text.encode())
    assert not problems, problems
    return found


def importing(text, **options):
    return Importer(**options).run([document(text)])


def incident(provider="aws", services="[elb]", regions="[us-east-1]", customers=""):
    return f"""\
incidents:
- slug: example-outage
  title: An outage
  provider: {provider}
  services: {services}
  regions: {regions}
  time_zone: UTC
  started_at: "2005-01-01T10:00:00Z"
  root_cause_category: other
{customers}"""


# --- Names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("GitHub", "Github"),
        ("Montréal", "MONTREAL"),
        ("Amazon Web Services", "amazon-web-services"),
        ("Amazon.com", "amazon com"),
        ("  Prime   Instant Video ", "prime instant video"),
        ("Pokémon GO", "Pokemon Go"),
        ("ＡＷＳ", "aws"),  # full-width letters (NFKD)
    ],
)
def test_names_compare_without_case_accents_or_punctuation(first, second):
    assert normalise_name(first) == normalise_name(second)


def test_different_names_stay_different():
    assert normalise_name("AWS") != normalise_name("AWS Lambda")
    assert normalise_name("...") == ""


# --- The model ---------------------------------------------------------------------------------


def test_an_alias_stores_its_normalised_name_and_the_provider_it_is_scoped_to(service):
    alias = Alias.objects.create(name="Load-Balancér", service=service)

    assert alias.normalised == "load balancer"
    assert alias.scope == service.provider
    assert Alias.objects.create(name="Ex", provider=service.provider).scope is None


def test_an_alias_has_exactly_one_owner_in_the_database(provider, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Alias.objects.create(name="Nobody's")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alias.objects.create(name="Both", provider=provider, customer=customer)


def test_an_alias_is_unique_per_kind_in_the_database_and_in_clean(provider, customer):
    Alias.objects.create(name="Example", provider=provider)
    other = Provider.objects.create(name="Other Cloud", slug="other-cloud")

    with pytest.raises(ValidationError) as error:
        Alias(name="EXAMPLE!", provider=other).full_clean()
    assert "already an alias of the provider Example Cloud" in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alias.objects.create(name="example", provider=other)

    # Another kind may use the same name.
    Alias(name="Example", customer=customer).full_clean()


def test_service_and_region_aliases_are_unique_per_provider(service, region):
    Alias.objects.create(name="LB", service=service)
    second = Service.objects.create(provider=service.provider, name="Storage", slug="storage")
    elsewhere = Provider.objects.create(name="Other Cloud", slug="other-cloud")
    theirs = Service.objects.create(provider=elsewhere, name="Balancer", slug="balancer")

    with pytest.raises(ValidationError):
        Alias(name="lb", service=second).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Alias.objects.create(name="lb", service=second)
    Alias(name="LB", service=theirs).full_clean()  # another provider's service may
    Alias(name="LB", region=region).full_clean()  # and a region of the same provider


def test_an_alias_may_not_be_another_rows_name_or_key(provider, customer):
    Provider.objects.create(name="Other Cloud", slug="other")
    Customer.objects.create(name="Shoppy", slug="shoppy")

    for alias in [
        Alias(name="other cloud", provider=provider),
        Alias(name="OTHER", provider=provider),
        Alias(name="Shoppy", customer=customer),
    ]:
        with pytest.raises(ValidationError) as error:
            alias.full_clean()
        assert "is the name of another" in str(error.value)
    Alias(name="Example Cloud Platform", provider=provider).full_clean()


def test_an_alias_needs_a_letter_or_digit(provider):
    with pytest.raises(ValidationError) as error:
        Alias(name="--", provider=provider).full_clean()
    assert "at least one letter or digit" in str(error.value)


def test_aliases_are_kept_in_the_history_of_their_row(provider):
    with reversion.create_revision():
        provider.save()
        Alias.objects.create(name="EC", provider=provider)
    with reversion.create_revision():
        provider.save()  # the revision of the provider holds its aliases (follow)

    version = Version.objects.get_for_object(provider).first()
    held = {v.content_type.model_class() for v in version.revision.version_set.all()}
    assert held == {Provider, Alias}


def test_shipped_aliases_load_and_name_rows_that_exist(reference):
    names = {alias.name: alias.owner()[1] for alias in Alias.objects.all()}

    assert names["AWS"].slug == names["Amazon"].slug == "aws"
    assert names["Prime Instant Video"].slug == "amazon-prime-video"
    assert names["Northern Virginia"] == Region.objects.get(provider__slug="aws")
    for alias in Alias.objects.all():
        alias.full_clean()


# --- The admin ---------------------------------------------------------------------------------


def management(prefix, total=1):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_editors_add_aliases_inline_on_a_customer(admin_client, db):
    response = admin_client.post(
        "/admin/outages/customer/add/",
        {
            "name": "Amazon Prime Video",
            "slug": "amazon-prime-video",
            **management("aliases"),
            "aliases-0-name": "Prime Instant Video",
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    alias = Alias.objects.get()
    assert (alias.customer.slug, alias.normalised) == ("amazon-prime-video", "prime instant video")


def test_a_new_customers_alias_is_checked_against_the_others(admin_client, customer):
    Alias.objects.create(name="Streamy TV", customer=customer)
    data = {"name": "Streamy Two", "slug": "streamy-two", **management("aliases")}

    response = admin_client.post(
        "/admin/outages/customer/add/", {**data, "aliases-0-name": "streamy tv"}
    )

    assert response.status_code == 200
    assert "already an alias of the customer Streamy" in response.content.decode()
    assert not Customer.objects.filter(slug="streamy-two").exists()


def test_a_new_services_alias_is_scoped_to_its_provider(admin_client, service):
    data = {
        "provider": str(service.provider.pk),
        "name": "Storage",
        "slug": "storage",
        **management("aliases"),
        "aliases-0-name": "Object store",
    }

    response = admin_client.post("/admin/outages/service/add/", data)

    assert response.status_code == 302
    assert Alias.objects.get().scope == service.provider


@pytest.mark.parametrize(
    ("url", "marker"),
    [
        ("/admin/outages/provider/{provider.pk}/change/", "aliases-TOTAL_FORMS"),
        ("/admin/outages/service/{service.pk}/change/", "aliases-TOTAL_FORMS"),
        ("/admin/outages/region/{region.pk}/change/", "aliases-TOTAL_FORMS"),
        ("/admin/outages/customer/{customer.pk}/change/", "aliases-TOTAL_FORMS"),
    ],
)
def test_every_reference_admin_has_the_alias_inline(
    admin_client, provider, service, region, customer, url, marker
):
    page = admin_client.get(url.format(provider=provider, service=service, region=region,
                                       customer=customer))  # fmt: skip
    assert marker in page.content.decode()


def test_the_admin_refuses_the_same_alias_twice_with_a_message(admin_client, service):
    data = {
        "provider": str(service.provider.pk),
        "name": service.name,
        "slug": service.slug,
        "description": "",
        **management("aliases", 2),
        "aliases-0-name": "LB",
        "aliases-1-name": "lb.",
    }
    response = admin_client.post(f"/admin/outages/service/{service.pk}/change/", data)

    assert response.status_code == 200
    assert "are the same name" in response.content.decode()
    assert not Alias.objects.exists()


def test_the_admin_refuses_an_alias_that_is_another_rows_name(admin_client, customer):
    Customer.objects.create(name="Shoppy", slug="shoppy")
    data = {
        "name": customer.name,
        "slug": customer.slug,
        **management("aliases"),
        "aliases-0-name": "SHOPPY",
    }
    response = admin_client.post(f"/admin/outages/customer/{customer.pk}/change/", data)

    assert response.status_code == 200
    assert "is the name of another customer, Shoppy" in response.content.decode()


# --- Import ------------------------------------------------------------------------------------


def test_a_provider_named_by_an_alias_resolves_and_says_so(reference):
    report = importing(incident(provider="Amazon"))

    assert Incident.objects.get().provider.slug == "aws"
    assert report.warnings == [
        "a.yaml:4 incidents[0].provider: “Amazon” resolved to provider aws (alias)"
    ]


def test_services_regions_and_customers_resolve_by_name_or_alias(reference):
    customers = """\
  customers:
  - customer: Github
    level: outage
  - customer: Prime Instant Video
    level: not-affected
"""
    text = incident(
        provider="AWS",
        services="[Elastic Load Balancing, amazon ebs]",
        regions="[Northern Virginia]",
        customers=customers,
    )

    report = importing(text)

    stored = Incident.objects.get()
    assert {s.slug for s in stored.services.all()} == {"elb", "ebs"}
    assert [r.code for r in stored.regions.all()] == ["us-east-1"]
    assert {i.customer.slug for i in stored.impacts.all()} == {"github", "amazon-prime-video"}
    assert report.warnings == [
        "a.yaml:4 incidents[0].provider: “AWS” resolved to provider aws (slug)",
        "a.yaml:5 incidents[0].services[0]: “Elastic Load Balancing” resolved to service elb "
        "(alias)",
        "a.yaml:5 incidents[0].services[1]: “amazon ebs” resolved to service ebs (name)",
        "a.yaml:6 incidents[0].regions[0]: “Northern Virginia” resolved to region us-east-1 "
        "(alias)",
        "a.yaml:11 incidents[0].customers[0].customer: “Github” resolved to customer github (name)",
        "a.yaml:13 incidents[0].customers[1].customer: “Prime Instant Video” resolved to customer "
        "amazon-prime-video (alias)",
    ]


def test_a_row_in_full_with_a_new_slug_but_a_known_name_is_the_known_row(reference):
    text = incident(
        provider="{slug: amazon-web-services, name: Amazon Web Services}",
        services="[{slug: load-balancing, name: Elastic Load Balancing}]",
    )

    report = importing(text)

    assert Provider.objects.filter(name="Amazon Web Services").count() == 1
    assert not Service.objects.filter(slug="load-balancing").exists()
    assert Incident.objects.get().provider.slug == "aws"
    assert report.warnings[0] == (
        "a.yaml:4 incidents[0].provider: “Amazon Web Services” (amazon-web-services) resolved to "
        "provider aws (name)"
    )


def test_a_name_made_earlier_in_the_run_resolves_to_that_row(db, tmp_path):
    second = NEW_INCIDENT.replace("example-outage-2020-01-01", "example-outage-2")
    second = second.replace("slug: example-cloud", "slug: example-cloud-inc")
    second = second.replace("provider:\n    slug", "provider:\n    slug", 1)
    second = second.replace("Example Cloud outage", "Another outage").replace(
        "2020-01-01T", "2021-01-01T"
    )
    second = second.replace("incident/1", "incident/2")
    text = NEW_INCIDENT + second.removeprefix("incidents:\n")

    output = run("import_incidents", write(tmp_path, text))

    assert Provider.objects.count() == 1
    assert "“Example Cloud” (example-cloud-inc) resolved to provider example-cloud (name)" in output


def test_a_name_of_two_rows_is_a_problem_naming_both(reference):
    Provider.objects.create(name="Twin", slug="twin-a")
    Provider.objects.create(name="Twin", slug="twin-b")

    with pytest.raises(ImportFailed) as failure:
        importing(incident(provider="twin", services="[]", regions="[]"))

    assert [str(problem) for problem in failure.value.problems] == [
        "a.yaml:4 incidents[0].provider: “twin” could be more than one provider: "
        "twin-a (name), twin-b (name); use the key"
    ]


def test_an_unknown_name_is_still_a_problem(reference):
    with pytest.raises(ImportFailed) as failure:
        importing(incident(provider="Nimbus"))
    assert "there is no provider “Nimbus”; give it in full to create it" in str(failure.value)


def test_a_key_is_used_before_any_name(reference):
    Alias.objects.create(name="elb", service=Service.objects.get(slug="ebs"))  # a poor alias

    importing(incident(services="[elb]"))

    assert Incident.objects.get().services.get().slug == "elb"


def test_names_are_read_with_a_few_queries_however_many_incidents_use_them(reference, tmp_path):
    def queries(count):
        Incident.objects.all().delete()
        text = "incidents:\n" + "".join(
            incident(
                provider="Amazon",
                customers="  customers:\n  - customer: Github\n    level: outage\n",
            )  # fmt: skip
            .removeprefix("incidents:\n")
            .replace("example-outage", f"example-outage-{number}")
            .replace("An outage", f"Outage number {number}")
            .replace("2005-01-01", f"19{90 + number}-01-01")
            for number in range(count)
        )
        with CaptureQueriesContext(connection) as captured:
            importing(text)
        return len(captured)

    queries(1)  # what is read once per process (content types)
    assert queries(1) == queries(6)  # revisions too are written in bulk (bulk_revisions.py)


def test_the_command_prints_what_it_resolved(reference, tmp_path):
    output = run("import_incidents", "--dry-run", write(tmp_path, incident(provider="Amazon")))

    assert "incidents[0].provider: “Amazon” resolved to provider aws (alias)" in output


def test_a_dry_run_with_problems_still_refuses(reference, tmp_path):
    with pytest.raises(CommandError):
        run("import_incidents", "--dry-run", write(tmp_path, incident(provider="Nimbus")))
