"""An import links the reference rows it names and never rewrites a stored one as a side effect:
each value it gives differently is a conflict, listed by the dry run and the real run, and the
run is refused unless it asks for reference updates (--update-references), which are then
written with a revision. Two documents that disagree about one row are a problem too."""

import pytest
from django.core.management import CommandError
from django.forms.models import model_to_dict
from reversion.models import Version

from outages import revisions
from outages.interchange import importing
from outages.models import Customer, Incident, Provider, Region, SearchDocument, Service, Source
from tests.test_import import ELB_DOC, NEW_INCIDENT, run, snapshot, write
from tests.test_import_speed import many

ELB_URL = "https://aws.amazon.com/message/680587/"
ELB_TITLE = "Summary of the December 24, 2012 Amazon ELB Service Event in the US-East Region"

# A foreign collection's incident that names the shipped ELB source and AWS in full, with
# values of its own. It says it is kept apart from the shipped incident, which it would
# otherwise duplicate (tests/test_duplicates.py): these tests are about its reference rows.
FOREIGN = f"""\
incidents:
- slug: elb-christmas-eve
  title: ELB outage on Christmas Eve
  not_duplicate_of: aws-elb-us-east-2012-12-24
  provider:
    slug: aws
    name: AWS
  time_zone: UTC
  root_cause_category: operational-error
  summary: Load balancers lost their state.
  sources:
  - url: https://example.org/elb-christmas
    title: A retelling
    publisher: Example Blog
    kind: news
  - url: {ELB_URL}
    title: AWS ELB event
    publisher: Amazon Web Services
    kind: official
"""


def line_of(text, fragment):
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def values(row):
    row.refresh_from_db()
    return model_to_dict(row)


@pytest.fixture
def elb(db):
    run("import_incidents", str(ELB_DOC), "--publish")
    return Incident.objects.get(slug="aws-elb-us-east-2012-12-24")


def failure(*args):
    with pytest.raises(CommandError) as error:
        run("import_incidents", *args)
    return str(error.value).splitlines()


def test_the_dry_run_lists_every_conflict_and_writes_nothing(elb, tmp_path):
    path = write(tmp_path, FOREIGN, "foreign.yaml")
    before = snapshot()

    lines = failure(path, "--dry-run")

    source_line = line_of(FOREIGN, f"url: {ELB_URL}")
    provider_line = line_of(FOREIGN, "slug: aws")
    assert lines[0] == "2 problems; nothing was written."
    assert lines[1].endswith(
        f"foreign.yaml:{provider_line} incidents[0].provider: provider aws: "
        'name "Amazon Web Services" → "AWS"'
    )
    assert lines[2].endswith(
        f"foreign.yaml:{source_line} incidents[0].sources[1]: source {ELB_URL}: "
        f'title "{ELB_TITLE}" → "AWS ELB event"'
    )
    assert snapshot() == before


def test_the_real_run_refuses_the_same_conflicts_and_changes_no_stored_value(elb, tmp_path):
    path = write(tmp_path, FOREIGN, "foreign.yaml")
    source, provider = Source.objects.get(url=ELB_URL), Provider.objects.get(slug="aws")
    stored = values(source), values(provider)
    revisions = Version.objects.count()

    lines = failure(path)

    assert len(lines) == 3
    assert 'title "Summary of the December 24' in lines[2]
    assert (values(source), values(provider)) == stored
    assert not Incident.objects.filter(slug="elb-christmas-eve").exists()
    assert Version.objects.count() == revisions


def test_a_stored_row_given_with_the_same_values_is_linked_and_what_is_left_out_is_kept(
    elb, tmp_path
):
    same = FOREIGN.replace("name: AWS", "name: Amazon Web Services").replace(
        "AWS ELB event", ELB_TITLE
    )
    source, provider = Source.objects.get(url=ELB_URL), Provider.objects.get(slug="aws")
    stored = values(source), values(provider)
    assert stored[0]["note"] and stored[0]["date_note"] and stored[1]["homepage_url"]

    output = run("import_incidents", write(tmp_path, same, "foreign.yaml"))

    assert "1 created" in output
    assert (values(source), values(provider)) == stored  # author, notes, homepage not blanked
    new = Incident.objects.get(slug="elb-christmas-eve")
    assert new.provider == provider
    assert source in new.sources.all()
    assert Version.objects.get_for_object(source).count() == 1  # only its own import


def test_update_references_writes_the_values_given_with_a_revision(elb, tmp_path, monkeypatch):
    dropped = []
    monkeypatch.setattr(importing.page_cache, "invalidate_all", lambda: dropped.append(True))
    path = write(tmp_path, FOREIGN, "foreign.yaml")
    source = Source.objects.get(url=ELB_URL)
    stored = values(source)

    output = run("import_incidents", path, "--update-references")

    assert "1 created" in output
    after = values(source)
    assert after["title"] == "AWS ELB event"
    assert {key: value for key, value in after.items() if key != "title"} == {
        key: value for key, value in stored.items() if key != "title"
    }
    assert Provider.objects.get(slug="aws").name == "AWS"
    newest = Version.objects.get_for_object(source).first()
    assert newest.revision.comment == "Imported from foreign.yaml"
    assert newest.field_dict["title"] == "AWS ELB event"
    # The shipped incident shows the source: found by its new title, its page no longer cached.
    assert "AWS ELB event" in SearchDocument.objects.get(incident=elb).sources
    assert "AWS" in SearchDocument.objects.get(incident=elb).names
    assert dropped


def test_created_reference_rows_get_a_revision_naming_the_file(db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))

    for model in [Provider, Service, Region, Customer, Source]:
        row = model.objects.get()
        version = revisions.versions(row).get()
        assert version.revision.comment == "Imported from incident.yaml", model


def test_importing_again_adds_no_reference_revision(db, tmp_path):
    path = write(tmp_path, NEW_INCIDENT)
    run("import_incidents", path)
    count = Version.objects.count()

    run("import_incidents", path)

    assert Version.objects.count() == count


def test_two_documents_that_disagree_about_a_new_row_name_both_places(db, tmp_path):
    first = write(tmp_path, many(1, 1), "a.yaml")
    text = many(1, 2).replace("name: Example Cloud", "name: Example cloud")
    second = write(tmp_path, text, "b.yaml")

    for options in [[], ["--update-references"]]:
        lines = failure(first, second, *options)

        line = line_of(text, "slug: example-cloud")
        assert lines[0] == "1 problem; nothing was written."
        assert lines[1].endswith(
            f"b.yaml:{line} incidents[0].provider: provider example-cloud: name "
            f'"Example cloud" here, but "Example Cloud" in '
            f"{first}:{line} incidents[0].provider; give it one value"
        )
        assert Provider.objects.count() == 0


def test_one_document_may_add_values_another_left_out(db, tmp_path):
    first = write(tmp_path, many(1, 1), "a.yaml")
    text = many(1, 2).replace(
        "    name: Example Cloud\n",
        "    name: Example Cloud\n    homepage_url: https://example.com/\n",
    )

    run("import_incidents", first, write(tmp_path, text, "b.yaml"))

    assert Provider.objects.get().homepage_url == "https://example.com/"


def test_a_customer_given_without_its_provider_keeps_the_provider(db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    customer = Customer.objects.get()
    customer.provider = Provider.objects.get()
    customer.save()

    run("import_incidents", write(tmp_path, many(1, 5), "again.yaml"))

    assert Customer.objects.get().provider == Provider.objects.get()
