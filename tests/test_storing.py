"""An editor's save stores the articles it changed before it answers (outages.web.storing), and
the front caches hear of the change only after that (front_cache.CacheHeaders)."""

import pytest
from django.http import HttpResponse
from django.urls import reverse

from outages import front_cache
from outages.models import IncidentArticle
from outages.web import storing
from tests.test_front_cache import purges  # noqa: F401 (fixture)
from tests.test_incident_article import admin_save, page, stored
from tests.test_search import admin_form_data
from tests.test_workflow import draft  # noqa: F401 (fixture)


def test_an_admin_save_stores_the_new_article_before_it_answers(admin_client, client, incident):
    page(client, incident)  # a reader stored the article of before

    admin_save(admin_client, incident, summary="A rewritten summary.")

    kept = stored(incident)
    assert kept is not None
    assert "A rewritten summary." in "".join(kept.parts.values())
    assert "A rewritten summary." in page(client, incident).content.decode()


def test_the_stored_article_is_the_one_a_reader_would_have_rendered(admin_client, client, incident):
    admin_save(admin_client, incident, summary="A rewritten summary.")
    from_the_save = page(client, incident).content.decode()

    IncidentArticle.objects.forget([incident.pk])
    assert page(client, incident).content.decode() == from_the_save


def test_a_drafts_save_stores_nothing(admin_client, draft):  # noqa: F811 (fixture)
    admin_save(admin_client, draft, summary="Still being written.")

    assert not IncidentArticle.objects.exists()


def test_a_change_to_many_incidents_leaves_them_to_their_readers(
    admin_client, client, make_incidents, monkeypatch
):
    monkeypatch.setattr(storing, "STORED_AT_ONCE", 1)
    incidents = make_incidents(2)  # both show the same provider
    for incident in incidents:
        page(client, incident)
    provider = incidents[0].provider
    url = reverse("admin:outages_provider_change", args=[provider.pk])
    data = admin_form_data(admin_client.get(url))
    data["name"] = "Renamed Cloud"

    assert admin_client.post(url, data).status_code == 302

    assert not IncidentArticle.objects.exists()
    assert "Renamed Cloud" in page(client, incidents[0]).content.decode()


@pytest.fixture
def front(purges, settings):  # noqa: F811 (fixture)
    """The tests' HTTP server as the only front cache, purged by the background thread."""
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = True
    settings.FRONT_CACHE_PURGE_WAIT = 30
    return purges


def sent(httpserver):
    return [request.headers["xkey-purge"] for request, _ in httpserver.log]


def test_a_requests_purges_are_sent_once_its_answer_is_ready(front, rf):
    seen = []

    def save(request):
        front_cache.purge({"incident:a"})  # what a save's commit asks for
        # What the request does after its commit: the front cache has heard nothing yet.
        purger = front_cache._purger
        seen.append((sorted(purger.pending), purger.sending, sent(front)))
        return HttpResponse(status=302)

    response = front_cache.CacheHeaders(save)(rf.post("/admin/"))

    assert response.status_code == 302
    assert seen == [([], False, [])]
    assert sent(front) == ["incident:a"]


# Real commits: the purge is sent from the commit's callbacks, which a test's transaction holds.
@pytest.mark.django_db(transaction=True)
def test_an_admin_saves_purge_finds_the_article_stored(
    admin_client, client, incident, front, monkeypatch
):
    page(client, incident)
    found = []
    send = front_cache.send

    def send_after_looking(tags):
        found.append(stored(incident) is not None)
        send(tags)

    monkeypatch.setattr(front_cache, "send", send_after_looking)
    admin_save(admin_client, incident, summary="A rewritten summary.")

    assert found == [True]
    assert any(f"incident:{incident.slug}" in tags for tags in sent(front))


@pytest.mark.parametrize("status", [500, 503])
def test_a_refused_save_answers_without_storing(rf, incident, monkeypatch, status):
    stores = []
    monkeypatch.setattr(storing, "store", stores.append)

    def refused_save(request):
        IncidentArticle.objects.forget([incident.pk])  # what the save did before it failed
        return HttpResponse(status=status)

    response = storing.StoreChangedArticles(refused_save)(rf.post("/admin/"))

    assert response.status_code == status
    assert stores == []
