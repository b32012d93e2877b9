import json
import re

from outages.models import Customer, CustomerImpact

LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def jsonld(client, incident):
    (text,) = LD_JSON.findall(client.get(incident.get_absolute_url()).content.decode())
    return json.loads(text)


def test_incident_page_describes_the_outage_for_search_engines(client, incident):
    data = jsonld(client, incident)

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Report"
    assert data["headline"] == "Incident 1"
    assert data["url"] == "http://testserver/incidents/incident-1/"
    assert data["dateModified"] == incident.updated_at.isoformat().replace("+00:00", "Z")
    assert data["about"] == {
        "@type": "Event",
        "name": "Incident 1",
        "startDate": "2012-12-24T20:24:00Z",
        "endDate": "2012-12-25T20:05:00Z",
        "organizer": {
            "@type": "Organization",
            "name": "Example Cloud",
            "url": "http://testserver/providers/example-cloud/",
        },
    }
    assert data["mentions"] == [
        {"@type": "Organization", "name": "Streamy", "url": "http://testserver/customers/streamy/"}
    ]
    assert data["keywords"] == ["Operational error", "Load Balancer", "east-1"]


def test_unknown_end_and_unaffected_customers_are_left_out(client, incident):
    incident.resolved_at = None
    incident.save()
    spared = Customer.objects.create(name="Spared", slug="spared", url="https://spared.example/")
    CustomerImpact.objects.create(
        incident=incident, customer=spared, level="not-affected", description="Fine."
    )

    data = jsonld(client, incident)

    assert "endDate" not in data["about"]
    assert [org["name"] for org in data["mentions"]] == ["Streamy"]


def test_a_title_cannot_break_out_of_the_script_element(client, incident):
    incident.title = "</script><script>alert(1)</script> & <!--"
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in html
    assert "\\u003C/script\\u003E\\u003Cscript\\u003Ealert(1)" in html
    assert jsonld(client, incident)["headline"] == "</script><script>alert(1)</script> & <!--"
