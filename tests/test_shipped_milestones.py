"""The shipped incidents mark, in their timelines, the events that state their milestones, and
the milestones the research notes leave open stay unknown (none is filled from an event)."""

from outages.models import Incident, TimelineEvent, milestone_disagreement

# Position of the event -> the milestone it states, from the research notes: each start and
# end is the one the notes give (started_at, ended_at); mitigations and the one detection are
# the events the incidents already took their times from.
SHIPPED_MARKS = {
    "aws-ebs-us-east-2011-04-21": {1: "started", 10: "mitigated"},
    "aws-ebs-us-east-2012-10-22": {1: "started"},
    "aws-elb-us-east-2012-12-24": {1: "started", 7: "mitigated", 15: "resolved"},
    "aws-kinesis-us-east-1-2020-11-25": {2: "detected", 12: "resolved"},
    "aws-s3-us-east-1-2017-02-28": {1: "started", 5: "resolved"},
    "aws-us-east-1-network-2021-12-07": {1: "started"},
    "aws-us-east-power-2012-06-29": {2: "started"},
    "gcp-networking-2019-06-02": {1: "started", 4: "mitigated", 8: "resolved"},
}
# Milestones the notes call unknown or unconfirmed: no event may fill them.
UNKNOWN = {
    "aws-ebs-us-east-2011-04-21": ["detected_at", "resolved_at"],
    "aws-ebs-us-east-2012-10-22": ["detected_at", "mitigated_at", "resolved_at"],
    "aws-elb-us-east-2012-12-24": ["detected_at"],
    "aws-us-east-1-network-2021-12-07": ["detected_at", "mitigated_at", "resolved_at"],
    "aws-us-east-power-2012-06-29": ["detected_at", "mitigated_at", "resolved_at"],
}


def test_the_shipped_timelines_mark_their_milestones(shipped_data, db):
    marked = {}
    for event in TimelineEvent.objects.exclude(marks="").select_related("incident"):
        marked.setdefault(event.incident.slug, {})[event.position] = event.marks
        assert milestone_disagreement(event.incident, event.marks, event.occurred_at) == ""

    assert marked == SHIPPED_MARKS


def test_the_shipped_milestones_the_sources_leave_open_stay_unknown(shipped_data, db):
    for slug, names in UNKNOWN.items():
        incident = Incident.objects.get(slug=slug)
        assert [getattr(incident, name) for name in names] == [None] * len(names), slug
