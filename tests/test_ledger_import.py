"""The promise ledger in incident documents: history and links imported, validated (all or
nothing) and exported, export → import → export byte-identical, links to incidents later in the
same document included."""

import pytest
import yaml
from django.core.management.base import CommandError

from outages.models import ActionItem, ActionItemState, Incident, PromiseLink
from tests.test_import import DOCS, MODELS, run, snapshot, write

EARLIER = DOCS / "aws-ebs-us-east-2011-04-21.yaml"
LATER = DOCS / "aws-ebs-us-east-2012-10-22.yaml"


def document(**first_item):
    """The 2011 and October 2012 EBS documents as one, the 2011 incident first, its first action
    item changed (a test's own history and link: the shipped data states no such link)."""
    incidents = [yaml.safe_load(path.read_text())["incidents"][0] for path in (EARLIER, LATER)]
    source = incidents[0]["action_items"][0]["source"]
    item = incidents[0]["action_items"][0]
    item.update(
        status="done",
        history=[
            {"state": "planned", "date": "2011-04", "source": source},
            {"state": "done", "date": "2012", "source": source},
        ],
        links=[
            {
                "kind": "recurred",
                "incident": "aws-ebs-us-east-2012-10-22",
                "note": "A test's link: EBS in the same region failed again.",
                "source": source,
            }
        ],
    )
    item.update(first_item)
    return yaml.safe_dump({"incidents": incidents}, allow_unicode=True, sort_keys=False)


def test_history_and_links_round_trip_byte_identical(db, tmp_path):
    run("import_incidents", write(tmp_path, document()), "--publish")
    item = ActionItem.objects.get(incident__slug="aws-ebs-us-east-2011-04-21", position=1)
    assert item.status == "done"
    assert [(s.state, s.date_written) for s in item.states.all()] == [
        ("planned", "2011-04"),
        ("done", "2012"),
    ]
    [link] = item.links.all()
    assert link.later_incident.slug == "aws-ebs-us-east-2012-10-22"
    first = run("export_incidents", "--all")
    rows = snapshot()
    for model in reversed(MODELS):
        model.objects.all().delete()

    run("import_incidents", write(tmp_path, first, "backup.yaml"), "--publish")

    assert run("export_incidents", "--all") == first
    assert snapshot() == rows
    assert "links:\n    - kind: recurred\n      incident: aws-ebs-us-east-2012-10-22" in first


def test_importing_again_changes_nothing(db, tmp_path):
    path = write(tmp_path, document())
    run("import_incidents", path, "--publish")
    rows = snapshot()

    run("import_incidents", path, "--publish")

    assert snapshot() == rows


@pytest.mark.parametrize(
    "change, message",
    [
        ({"status": "planned"}, "is not the latest state of the history"),
        (
            {"history": [{"state": "done", "date": "2012-13", "source": None}]},
            "is not a date such as",
        ),
        (
            {
                "links": [
                    {
                        "kind": "kept",
                        "incident": "nowhere",
                        "note": "x",
                        "source": "https://x.example/",
                    }
                ]
            },
            "there is no incident “nowhere”",
        ),
        ({"history": [{"state": "finished"}]}, "finished"),
    ],
)
def test_a_bad_history_or_link_is_refused_and_nothing_is_written(db, tmp_path, change, message):
    with pytest.raises(CommandError) as refused:
        run("import_incidents", write(tmp_path, document(**change)), "--publish")

    assert message in str(refused.value)
    assert not Incident.objects.exists()
    assert not ActionItemState.objects.exists() and not PromiseLink.objects.exists()
