"""The incident page's stored article (outages.web.articles): the page is the same with it as
without it, it costs fewer queries, and no write path leaves it stale."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse
from reversion.models import Version

from outages import restoring, workflow
from outages.models import (
    ActionItem,
    Incident,
    IncidentArticle,
    Service,
)
from outages.web import articles
from tests.test_import import NEW_INCIDENT, run
from tests.test_import import write as write_document
from tests.test_ledger import link
from tests.test_load_fixtures import INCIDENT, edit, load, write
from tests.test_load_fixtures_existing import CUSTOMER, EXAMPLE, PROVIDER
from tests.test_relations import relate
from tests.test_search import admin_form_data
from tests.test_workflow import change_url


def page(client, incident_or_slug):
    """The incident page as a reader gets it with the page cache empty (so built now)."""
    cache.clear()
    slug = getattr(incident_or_slug, "slug", incident_or_slug)
    return client.get(f"/incidents/{slug}/")


def article(response):
    """The page's <article>: its head (the title, the description) is rendered live."""
    return response.content.decode().split('<article class="incident">', 1)[1]


def header(response):
    """The page's header: its provider, services, regions and title."""
    return article(response).split("</header>", 1)[0]


def section(response, anchor):
    """The HTML of the page's <section> labelled by the heading with id `anchor`."""
    html = response.content.decode()
    return html.split(f'<section aria-labelledby="{anchor}"', 1)[1].split("</section>", 1)[0]


def stored(incident):
    return IncidentArticle.objects.filter(incident=incident, parts__isnull=False).first()


def read_twice(client, incident):
    """The page rendered without a stored article (which it then stores), and printed from it."""
    first = page(client, incident).content.decode()
    assert stored(incident) is not None
    return first, page(client, incident).content.decode()


# --- Same page, fewer queries -----------------------------------------------------------------


def test_the_page_is_the_same_with_the_stored_article_as_without(client, make_incidents):
    incident = make_incidents(3)[0]  # related incidents, a timeline, hits, promises, corrections

    rendered, printed = read_twice(client, incident)

    assert printed == rendered
    for shown in ["Workflows disabled.", "Streaming down.", "Require approval.", "It was a CDN."]:
        assert shown in printed
    assert "Incident 2" in printed  # related incidents are still rendered around it


def test_an_article_of_another_build_is_rendered_again(client, incident):
    rendered, _ = read_twice(client, incident)
    IncidentArticle.objects.update(build="older", parts={"header": "<h1>Old</h1>"})

    assert page(client, incident).content.decode() == rendered
    assert stored(incident).build == articles.build()


def test_a_cold_page_with_a_stored_article_makes_fewer_queries(
    client, make_incidents, django_assert_num_queries
):
    make_incidents(2)
    page(client, "incident-1")  # stores its article
    # 1 the incident with its provider and its stored article (with what the page reads of its
    # services, regions, customers and sources), and whether any typed relation or promise link
    # names it (none here: neither is read); 2 its sources' latest archived copies; 3 the
    # related incidents (the candidates sharing a service, a region, a customer hit, what is
    # shown of them and what each shares, in one query); 4 the public change log, 5 its current
    # version (the citation). Its services, regions, impacts, sources, events, action items,
    # their histories and corrections are not read (20 queries before articles were stored).
    with django_assert_num_queries(5):
        page(client, "incident-1")


def test_relations_and_promise_links_are_read_only_for_an_incident_they_name(
    client, make_incidents, source, django_assert_num_queries
):
    first, later, bystander = make_incidents(3)
    relate(later, first, source=source)
    link(first.action_items.get(), later, source)
    for incident in (first, later, bystander):
        page(client, incident)  # stores the articles

    for incident, promises in [
        (first, "Later incidents that bear on these promises"),
        (later, "Earlier promises this incident bears on"),
    ]:
        # As above, and 2 more: the typed relations and the promise links, either end.
        with django_assert_num_queries(7):
            response = page(client, incident)
        assert promises in response.content.decode()
        assert "How it relates to other incidents" in section(response, "related")
    with django_assert_num_queries(5):
        page(client, bystander)


def test_the_first_read_stores_the_article_and_a_second_reader_uses_it(client, incident):
    assert not IncidentArticle.objects.exists()
    page(client, incident)
    first = stored(incident)
    page(client, incident)
    assert stored(incident).claim == first.claim  # read, not stored again


@pytest.mark.parametrize("write", ["claim_for", "store"])
def test_a_refused_write_of_the_article_still_shows_the_page(
    client, make_incidents, monkeypatch, write, caplog
):
    incident = make_incidents(1)[0]
    expected = page(client, incident).content.decode()
    IncidentArticle.objects.all().delete()

    def refused(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(IncidentArticle, write, refused)
    response = page(client, incident)

    assert response.status_code == 200
    assert response.content.decode() == expected
    assert stored(incident) is None
    # An expected refusal is a warning with its reason, not a traceback in the server's log.
    warnings = [r for r in caplog.records if "article was not written" in r.getMessage()]
    assert warnings and "database is locked" in warnings[0].getMessage()
    assert not any(r.exc_info for r in warnings)


# --- Claims -------------------------------------------------------------------------------------


ROWS = {"services": [], "regions": [], "impacts": []}


def test_an_article_rendered_before_a_write_is_not_stored(incident):
    token = IncidentArticle.claim_for(incident.pk, articles.build())
    IncidentArticle.objects.forget([incident.pk])  # a write, while the read renders

    assert not IncidentArticle.store(incident.pk, token, {"header": "old"}, ROWS)
    assert not IncidentArticle.objects.exists()


def test_a_second_claim_waits_for_the_first_and_stores_nothing(incident):
    token = IncidentArticle.claim_for(incident.pk, articles.build())
    claimed = IncidentArticle.objects.get()

    assert IncidentArticle.claim_for(incident.pk, articles.build(), claimed) is None
    # A claim made at the same moment by a read that had seen no row loses to the first.
    late = IncidentArticle.claim_for(incident.pk, articles.build())
    assert not IncidentArticle.store(incident.pk, late, {"header": "late"}, ROWS)
    assert IncidentArticle.store(incident.pk, token, {"header": "first"}, ROWS)


def test_an_abandoned_claim_is_taken_over(incident):
    IncidentArticle.claim_for(incident.pk, articles.build())
    IncidentArticle.objects.update(claimed_at="2000-01-01T00:00:00Z")
    abandoned = IncidentArticle.objects.get()

    token = IncidentArticle.claim_for(incident.pk, articles.build(), abandoned)

    assert IncidentArticle.store(incident.pk, token, {"header": "new"}, ROWS)


# --- Previews and withdrawals -----------------------------------------------------------------


def test_a_staff_preview_neither_uses_nor_stores_an_article(admin_client, incident):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)
    IncidentArticle.objects.create(
        incident=incident, build=articles.build(), parts=dict.fromkeys(articles.PARTS, "STALE")
    )

    response = page(admin_client, incident)

    assert response.status_code == 200
    assert "STALE" not in response.content.decode()
    assert "Incident 1" in response.content.decode()
    assert IncidentArticle.objects.get().parts["header"] == "STALE"  # left as it was


def test_a_withdrawn_incident_is_gone_whatever_was_stored(client, admin_user, incident):
    page(client, incident)
    workflow.apply(incident, "withdraw", admin_user, reason="A duplicate.")

    assert page(client, incident).status_code == 410
    assert not IncidentArticle.objects.exists()


# --- Every write path -------------------------------------------------------------------------


def admin_save(client, incident, **changes):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(changes)
    response = client.post(change_url(incident), data)
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "<h1>A retitled incident</h1>"),
        ("summary", "A rewritten summary."),
        ("events-0-description", "Gateways rebooted."),
        ("impacts-0-description", "Streaming stalled."),
        ("action_items-0-description", "Require two approvals."),
        ("corrections-0-fact", "It was a gateway."),
    ],
)
def test_an_admin_save_shows_at_once(admin_client, client, incident, field, value):
    page(client, incident)  # a reader stores the article

    admin_save(admin_client, incident, **{field: value.removeprefix("<h1>").removesuffix("</h1>")})

    assert value in article(page(client, incident))


def test_a_ledger_state_added_in_the_admin_shows_at_once(admin_client, client, incident):
    page(client, incident)
    item = ActionItem.objects.get(incident=incident)
    data = admin_form_data(admin_client.get(change_url(incident)))
    data.update(
        {
            "action_states-TOTAL_FORMS": "1",
            "action_states-0-position": "1",
            "action_states-0-action_item": str(item.pk),
            "action_states-0-state": ActionItem.Status.ABANDONED,
            "action_states-0-stated_on": "2014-03-01",
            "action_states-0-stated_on_precision": "date",
        }
    )
    response = admin_client.post(change_url(incident), data)
    assert response.status_code == 302, response.content.decode()[:3000]

    assert "Abandoned, " in article(page(client, incident))


def test_deleting_the_incident_in_the_admin_deletes_its_article(admin_client, client, incident):
    page(client, incident)
    url = reverse("admin:outages_incident_delete", args=[incident.pk])
    admin_client.post(url, {"post": "yes"})

    assert page(client, incident).status_code == 404
    assert not IncidentArticle.objects.exists()


def test_withdrawing_and_publishing_again_shows_the_edits_made_meanwhile(
    admin_client, client, admin_user, incident
):
    page(client, incident)
    workflow.apply(incident, "withdraw", admin_user, reason="Being rewritten.")
    workflow.apply(incident, "reopen", admin_user)
    admin_save(admin_client, incident, title="Rewritten while withdrawn")
    workflow.apply(incident, "publish", admin_user)

    assert "Rewritten while withdrawn" in article(page(client, incident))


def test_restoring_a_revision_shows_it_at_once(admin_client, client, admin_user, incident):
    admin_save(admin_client, incident, title="First title")
    admin_save(admin_client, incident, title="Second title")
    assert "Second title" in article(page(client, incident))
    first = next(
        version
        for version in Version.objects.get_for_object(incident)
        if version.field_dict["title"] == "First title"
    )

    restoring.restore_incident(incident, first, admin_user)

    assert "<h1>First title</h1>" in article(page(client, incident))


def test_an_import_that_changes_an_incident_shows_at_once(db, client, tmp_path):
    slug = "example-outage-2020-01-01"
    run("import_incidents", write_document(tmp_path, NEW_INCIDENT), "--publish")
    assert "Storage is back." in article(page(client, slug))

    changed = NEW_INCIDENT.replace("Storage is back.", "Storage came back.")
    run("import_incidents", write_document(tmp_path, changed, "changed.yaml"), "--publish")

    assert "Storage came back." in article(page(client, slug))


def test_an_import_that_renames_a_customer_shows_at_once(db, client, tmp_path):
    slug = "example-outage-2020-01-01"
    run("import_incidents", write_document(tmp_path, NEW_INCIDENT), "--publish")
    page(client, slug)

    renamed = NEW_INCIDENT.replace("name: Example Shop", "name: Example Boutique")
    path = write_document(tmp_path, renamed, "renamed.yaml")
    run("import_incidents", path, "--publish", "--update-references")

    assert "Example Boutique" in article(page(client, slug))


@pytest.fixture
def loaded(db, tmp_path):
    """The example incident loaded from fixtures, published."""
    load(write(tmp_path, "example.json", EXAMPLE))
    return Incident.objects.get(slug="example-outage")


@pytest.mark.parametrize(
    "row, shown",
    [
        (edit(INCIDENT, title="Retitled outage"), None),
        (edit(CUSTOMER, name="Wombatcast"), "update_references"),
        (edit(PROVIDER, name="Example Cloud Platform"), "update_references"),
    ],
)
def test_loading_fixtures_shows_at_once(client, tmp_path, loaded, row, shown):
    page(client, loaded)
    options = {shown: True} if shown else {"update": True}

    load(write(tmp_path, "x.json", [row]), **options)

    expected = row["fields"].get("title") or row["fields"]["name"]
    response = page(client, loaded)
    assert expected in (header(response) + section(response, "customers"))


# Each kind of reference row: the field renamed, its new value, and where the article shows it.
REFERENCE_ROWS = {
    "provider": (lambda incident: incident.provider, "name", "Renamed Cloud", header),
    "service": (lambda incident: incident.services.get(), "name", "Renamed Service", header),
    "region": (lambda incident: incident.regions.get(), "code", "west-9", header),
    "customer": (
        lambda incident: incident.impacts.get().customer,
        "name",
        "Renamed Customer",
        lambda response: section(response, "customers"),
    ),
    "source": (
        lambda incident: incident.sources.get(),
        "publisher",
        "Renamed Publisher",
        lambda response: section(response, "customers"),  # the impacts' sources
    ),
}


@pytest.mark.parametrize("kind", REFERENCE_ROWS)
def test_renaming_a_reference_row_in_the_admin_shows_at_once(admin_client, client, incident, kind):
    of, field, value, shown_in = REFERENCE_ROWS[kind]
    row = of(incident)
    page(client, incident)
    url = reverse(f"admin:outages_{row._meta.model_name}_change", args=[row.pk])
    data = admin_form_data(admin_client.get(url))
    data[field] = value

    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]

    assert value in shown_in(page(client, incident))


def test_saving_a_reference_row_unchanged_keeps_the_articles(admin_client, client, incident):
    page(client, incident)
    url = reverse("admin:outages_provider_change", args=[incident.provider.pk])

    assert admin_client.post(url, admin_form_data(admin_client.get(url))).status_code == 302

    assert stored(incident) is not None


def test_restoring_a_reference_row_shows_at_once(admin_client, client, admin_user, incident):
    provider = incident.provider
    url = reverse("admin:outages_provider_change", args=[provider.pk])
    for name in ["Old Cloud", "New Cloud"]:
        data = admin_form_data(admin_client.get(url))
        data["name"] = name
        assert admin_client.post(url, data).status_code == 302
    assert "New Cloud" in article(page(client, incident))
    old = next(
        v for v in Version.objects.get_for_object(provider) if v.field_dict["name"] == "Old Cloud"
    )

    restoring.restore_reference(provider, old, admin_user)

    assert "New Cloud" not in article(page(client, incident))


def test_deleting_a_service_in_the_admin_takes_it_off_the_page(admin_client, client, incident):
    service = Service.objects.create(provider=incident.provider, name="Queue", slug="queue")
    incident.services.add(service)
    assert "Queue" in article(page(client, incident))

    url = reverse("admin:outages_service_delete", args=[service.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    assert "Queue" not in article(page(client, incident))


# --- Filling in bulk ---------------------------------------------------------------------------


def test_render_articles_stores_every_missing_article_once(client, make_incidents):
    incidents = make_incidents(3)
    Incident.objects.filter(pk=incidents[2].pk).update(status=Incident.Status.DRAFT)
    out = StringIO()

    call_command("render_articles", stdout=out)
    call_command("render_articles", stdout=out)

    assert out.getvalue().splitlines() == ["Stored 2 articles.", "Stored 0 articles."]
    rendered = page(client, incidents[0]).content.decode()
    IncidentArticle.objects.all().delete()
    assert page(client, incidents[0]).content.decode() == rendered
