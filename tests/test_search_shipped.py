"""Search over the shipped incidents: what a newcomer finds from a clean clone."""

import pytest

ELB = "aws-elb-us-east-2012-12-24"


@pytest.fixture
def real_data(shipped_data, db):
    pass


def slugs(response):
    return [incident.slug for incident in response.context["page"]]


@pytest.mark.parametrize("query", ["load balancer christmas", "Netflix", "christmas eve"])
def test_the_elb_outage_is_found_first_or_near_first(client, real_data, query):
    response = client.get("/incidents/", {"q": query})

    assert ELB in slugs(response)[:2]


def test_results_carry_a_highlighted_snippet_and_where_it_matched(client, real_data):
    response = client.get("/incidents/", {"q": "load balancer christmas"})
    html = response.content.decode()

    assert "<mark>" in html
    assert "Matched in" in html
    elb = next(i for i in response.context["page"] if i.slug == ELB)
    assert "summary" in elb.snippet.places


@pytest.mark.parametrize(
    ("query", "expected", "unexpected"),
    [
        ('"state data"', [ELB], []),  # a quoted phrase
        ("heroku or reddit", [ELB, "aws-ebs-us-east-2011-04-21"], []),
        ("netflix -elb", ["aws-us-east-1-network-2021-12-07"], [ELB]),
    ],
)
def test_websearch_syntax_on_both_engines(client, real_data, query, expected, unexpected):
    found = slugs(client.get("/incidents/", {"q": query}))

    for slug in expected:
        assert slug in found
    for slug in unexpected:
        assert slug not in found


def test_the_corrected_claim_finds_the_elb_outage_and_shows_the_correction(client, real_data):
    # The seed article placed the failure at a CDN facility in Ashburn; the ELB page corrects it.
    response = client.get("/incidents/", {"q": "ashburn CDN"})

    assert slugs(response) == [ELB]
    (elb,) = response.context["page"]
    assert elb.snippet.places == ["corrections"]
    html = response.content.decode()
    assert "<mark>Ashburn</mark>" in html
    assert "<mark>CDN</mark>" in html and "Matched in corrections" in html
    # The passage says which words were the claim and which the fact.
    assert "Claimed:" in elb.snippet.html or "Corrected:" in elb.snippet.html
