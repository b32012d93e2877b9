"""What readers see of the shipped fixtures' providers, services, regions and customers
(`visible()`): every row a published incident names, and nothing published on its own."""

from outages.models import Customer, Provider, Region, Service

# Heroku is shipped as a customer hit by AWS incidents and as a provider with no incident of its
# own yet. Nothing names the provider entry, so readers do not see it, and the customer page
# does not link to it, until an incident of Heroku's own is published or a publisher publishes
# the entry. The import format cannot carry that flag, so shipping it would also make the
# shipped import documents disagree with the fixtures.
HIDDEN = {Provider: [("heroku",)], Service: [], Region: [], Customer: []}


def test_shipped_reference_rows_are_public_when_a_published_incident_names_them(shipped_data, db):
    for model, hidden in HIDDEN.items():
        rows = model.objects.all()
        assert rows.exists(), model.__name__
        unseen = rows.exclude(pk__in=model.objects.visible().values("pk"))
        assert [row.natural_key() for row in unseen] == hidden, model.__name__
        assert not rows.filter(published=True).exists(), model.__name__


def test_the_heroku_customer_page_does_not_link_to_its_unseen_provider_entry(
    shipped_data, db, client
):
    html = client.get(Customer.objects.get(slug="heroku").get_absolute_url()).content.decode()

    assert 'href="/providers/heroku/"' not in html
    assert client.get("/providers/heroku/").status_code == 404
