"""Every public page: answers 200, has exactly one <h1>, a skip link and a labelled nav."""

import re

import pytest

PAGES = [
    "/",
    "/incidents/",
    "/incidents/incident-1/",
    "/providers/",
    "/providers/example-cloud/",
    "/providers/example-cloud/services/lb/",
    "/providers/example-cloud/regions/east-1/",
    "/customers/",
    "/customers/streamy/",
]


@pytest.mark.parametrize("url", PAGES)
def test_public_page_is_accessible_in_structure(client, make_incidents, url):
    make_incidents(2)

    response = client.get(url)
    html = response.content.decode()

    assert response.status_code == 200
    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<nav aria-label="Main">' in html
    assert '<html lang="en">' in html


@pytest.mark.parametrize(
    "url",
    ["/nope/", "/incidents/%00/", "/incidents/" + "a" * 5000 + "/", "/customers/<script>/"],
)
def test_odd_urls_give_404_not_500(client, db, url):
    assert client.get(url).status_code == 404
