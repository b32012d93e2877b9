"""Every provider, service, region and customer the shipped fixtures hold is public
(Provider.objects.visible()): named by a published incident, or published on its own."""

from outages.models import Customer, Provider, Region, Service

# Heroku is shipped as a customer hit by AWS incidents and as a provider with no incident of its
# own yet; its provider entry is published on its own so that the customer page's link to it
# leads somewhere.
PUBLISHED_ON_THEIR_OWN = {Provider: [("heroku",)], Service: [], Region: [], Customer: []}


def test_every_shipped_reference_row_is_public(shipped_data, db):
    for model, published in PUBLISHED_ON_THEIR_OWN.items():
        rows = model.objects.all()
        assert rows.exists(), model.__name__
        hidden = rows.exclude(pk__in=model.objects.visible().values("pk"))
        assert [row.natural_key() for row in hidden] == [], model.__name__
        alone = rows.filter(published=True)
        assert [row.natural_key() for row in alone] == published, model.__name__
