"""A merge (`same_as`) adds events; one marking a milestone the incident lacks fills it, one
marking a milestone the incident has is kept as a plain event (never a second mark)."""

from outages.models import Incident
from tests.test_import import run, write

FIRST = """
incidents:
- slug: going-on
  title: An outage still going on
  provider: {slug: example-cloud, name: Example Cloud}
  time_zone: UTC
  root_cause_category: unclassified
  timeline:
  - {at: "2020-01-01T10:00:00Z", kind: detection, marks: started, description: Investigating.}
"""

LATER = """
incidents:
- slug: going-on
  same_as: going-on
  title: An outage still going on
  provider: example-cloud
  root_cause_category: unclassified
  timeline:
  - {at: "2020-01-01T09:00:00Z", kind: trigger, marks: started, description: An earlier start.}
  - {at: "2020-01-01T12:00:00Z", kind: recovery, marks: resolved, description: Resolved.}
"""


def test_a_merged_event_fills_a_missing_milestone_and_never_marks_one_twice(db, tmp_path):
    run("import_incidents", write(tmp_path, FIRST, "first.yaml"))

    run("import_incidents", write(tmp_path, LATER, "later.yaml"))

    incident = Incident.objects.get(slug="going-on")
    assert incident.started_at.isoformat() == "2020-01-01T10:00:00+00:00"
    assert incident.resolved_at.isoformat() == "2020-01-01T12:00:00+00:00"
    marks = dict(incident.events.values_list("description", "marks"))
    assert marks == {"Investigating.": "started", "An earlier start.": "", "Resolved.": "resolved"}
