"""One save's rendering is bounded: the shapes of Markdown that python-markdown parses slowly
are refused before any rendering, and what is left draws on one budget for the whole save
(rendering.RenderBudget), in the admin's form with its inlines and for each imported incident.
Asserted by the budget's own accounting (renders started, seconds charged), never by a clock."""

import json

import pytest

from outages import rendering
from outages.models import Incident
from outages.rendering import (
    MAX_MARKDOWN_LENGTH,
    SAVE_RENDER_SECONDS,
    RenderBudget,
    check_markdown,
    render_markdown,
)
from tests.test_admin_form import field_errors, row_errors
from tests.test_search import admin_form_data
from tests.test_workflow import change_url


def filled(unit, length=MAX_MARKDOWN_LENGTH - 1_000):
    return (unit * (length // len(unit) + 1))[:length]


# Each of these, within the size limit, kept python-markdown busy for more than 8 seconds (or
# until the 3-second kill of its child process): unclosed brackets, parentheses and tags in one
# paragraph are quadratic, and so are many block-starting lines in one paragraph.
SLOW = {
    "unclosed-brackets": filled("[a "),
    "unclosed-double-brackets": filled("[[ "),
    "unclosed-link-address": filled("[a]("),
    "unclosed-nested-parentheses": filled("[a](b(c "),
    "unclosed-image": filled("![a "),
    "nested-unclosed-brackets": filled("[a[b](c)"),
    "unclosed-tags": filled("<a "),
    "unclosed-attribute": filled('<a title="'),
    "less-than-letters": filled("a<b "),
    "setext-underlines": filled("a\n=\n"),
    "rules": filled("* * *\n"),
    "headings": filled("# a\n"),
}
# Text the checks let through that still takes a while: long, so rendered under the budget.
COSTLY = " ".join(["A *long* section of a postmortem, with a [link](https://example.com)."] * 80)


class Ticking:
    """A clock that moves `step` seconds each time it is read: each render costs `step`."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


class Budgets(list):
    """The budgets the code under test makes, each with `clock` once one is set."""

    MAKERS = ("outages.admin.incidents", "outages.interchange.importing")

    def __init__(self, monkeypatch):
        super().__init__()
        self.monkeypatch = monkeypatch
        self.use_clock(None)

    def use_clock(self, clock):
        def make(**options):
            self.append(RenderBudget(clock=clock, **options) if clock else RenderBudget(**options))
            return self[-1]

        for module in self.MAKERS:
            self.monkeypatch.setattr(f"{module}.RenderBudget", make)


@pytest.fixture
def budgets(monkeypatch):
    return Budgets(monkeypatch)


@pytest.mark.parametrize("text", SLOW.values(), ids=SLOW.keys())
def test_each_slow_shape_is_refused_before_it_is_rendered(text):
    assert len(text) < MAX_MARKDOWN_LENGTH
    assert check_markdown(text)

    with RenderBudget() as budget:
        html = render_markdown(text)

    assert budget.renders == 0 and budget.spent == 0
    assert html.startswith("<p>")  # shown escaped, as it is ever met


def test_ordinary_and_costly_text_passes_the_checks():
    assert check_markdown(COSTLY) == []
    assert check_markdown("(a) [b](https://example.com) <https://example.com> a < b\n---\n") == []
    assert rendering.is_costly(COSTLY)


def test_costly_text_under_a_budget_is_parsed_in_a_child_stopped_when_the_budget_is_spent(
    monkeypatch,
):
    # Few brackets, so parsed here while the budget is ample; once less is left than the
    # slowest such text could take, in the child, so that it cannot run on past the budget.
    assert COSTLY.count("[") + COSTLY.count("<") <= rendering.INLINE_BRACKET_LIMIT
    limits = []
    parse = rendering._render_in_child

    def in_child(text, timeout):
        limits.append(timeout)
        return parse(text, timeout)

    monkeypatch.setattr(rendering, "_render_in_child", in_child)
    with RenderBudget(seconds=2, clock=Ticking(0.5)) as budget:
        html = render_markdown(COSTLY)

    assert limits == [2] and budget.spent == 0.5
    assert html == render_markdown(COSTLY)  # the same HTML as parsed here


# --- The admin's form: the incident with its inlines is one save ------------------------------

MARKDOWN_FIELDS = [*Incident.markdown_fields, "events-0-description", "events-1-description",
                   "impacts-0-description"]  # fmt: skip


def errors_at(response, name):
    if name.count("-") == 2:
        prefix, index, field = name.split("-")
        return row_errors(response, prefix, int(index), field)
    return field_errors(response, name)


def post_every_field(client, incident, texts):
    data = admin_form_data(client.get(change_url(incident)))
    assert set(MARKDOWN_FIELDS) <= set(data)
    data.update(zip(MARKDOWN_FIELDS, texts, strict=True))
    return client.post(change_url(incident), data)


def test_a_save_with_a_slow_text_in_every_field_renders_nothing_and_says_so_at_each(
    admin_client, incident, budgets
):
    # Twelve slow shapes once took 36 seconds to save, each until its 3-second kill.
    texts = list(SLOW.values())[: len(MARKDOWN_FIELDS)]
    version = incident.version

    response = post_every_field(admin_client, incident, texts)

    assert response.status_code == 200
    for name in MARKDOWN_FIELDS:
        assert errors_at(response, name), name
    [budget] = budgets
    assert budget.renders == 0 and budget.spent == 0
    incident.refresh_from_db()
    assert incident.version == version


def test_the_whole_save_shares_one_budget_and_the_field_past_it_is_refused(
    admin_client, incident, budgets
):
    # Each costly text is charged 1.5 s: three fit in the 4 seconds, the rest are refused.
    budgets.use_clock(Ticking(1.5))
    version = incident.version

    texts = [f"{COSTLY} ({name})" for name in MARKDOWN_FIELDS]

    response = post_every_field(admin_client, incident, texts)

    assert response.status_code == 200
    [budget] = budgets
    assert budget.seconds == SAVE_RENDER_SECONDS == 4
    assert budget.renders == 3 and budget.spent == 4.5
    refused = [name for name in MARKDOWN_FIELDS if errors_at(response, name)]
    assert refused == MARKDOWN_FIELDS[3:]
    assert "rendering budget (4 seconds for all its fields together)" in str(
        errors_at(response, refused[0])
    )
    incident.refresh_from_db()
    assert incident.version == version


def test_short_formatted_texts_draw_on_the_budget_at_validation_too(
    admin_client, incident, budgets
):
    # Each short text is far from costly, but a form holds some ninety of them: rendered only
    # when saved, they took a save past its budget with no field refused.
    budgets.use_clock(Ticking(1.5))
    version = incident.version
    texts = [f"A *short* entry with `code` ({name})" for name in MARKDOWN_FIELDS]
    assert not any(rendering.is_costly(text) for text in texts)

    response = post_every_field(admin_client, incident, texts)

    assert response.status_code == 200
    [budget] = budgets
    assert budget.renders == 3 and budget.spent == 4.5
    refused = [name for name in MARKDOWN_FIELDS if errors_at(response, name)]
    assert refused == MARKDOWN_FIELDS[3:]
    incident.refresh_from_db()
    assert incident.version == version


def test_a_save_renders_each_costly_text_once_and_stores_what_validation_rendered(
    admin_client, incident, budgets
):
    texts = [f"{COSTLY} ({name})" for name in MARKDOWN_FIELDS]

    response = post_every_field(admin_client, incident, texts)

    assert response.status_code == 302
    [budget] = budgets
    assert budget.renders == len(MARKDOWN_FIELDS)  # at validation; saving renders none again
    incident.refresh_from_db()
    assert incident.summary_html == render_markdown(texts[0])
    assert incident.events.get(position=1).description_html == render_markdown(texts[-3])


# --- Import (and sync, which imports what it reads): each incident is one save ----------------


def import_document(tmp_path, summary, **sections):
    from tests.test_import import NEW_INCIDENT, run, write

    document = NEW_INCIDENT.replace(
        "summary: A configuration push took **storage** down.",
        f"summary: {json.dumps(summary)}\n"
        + "".join(f"  {name}: {json.dumps(text)}\n" for name, text in sections.items()).rstrip(),
    )
    try:
        return run("import_incidents", write(tmp_path, document))
    except Exception as error:  # CommandError: the problems, one a line
        return str(error)


def test_an_imported_incident_with_slow_texts_is_refused_at_each_field(tmp_path, db, budgets):
    output = import_document(
        tmp_path, SLOW["unclosed-brackets"], root_cause=SLOW["setext-underlines"]
    )

    assert "incidents[0].summary: Too many unclosed brackets" in output
    assert "incidents[0].root_cause: A paragraph has more than 50 headings" in output
    assert not Incident.objects.exists()
    assert all(budget.renders == 0 for budget in budgets)


def test_an_imported_incident_shares_one_budget_across_its_fields(tmp_path, db, budgets):
    budgets.use_clock(Ticking(1.5))
    sections = {name: COSTLY + name for name in Incident.markdown_fields[1:]}

    output = import_document(tmp_path, COSTLY, **sections)

    [budget] = budgets
    assert budget.renders == 3 and budget.spent == 4.5
    for name in Incident.markdown_fields[3:]:
        assert f"incidents[0].{name}: Rendering this text would take this save past" in output
    assert not Incident.objects.exists()


def test_an_imported_incident_stores_the_html_its_validation_rendered(tmp_path, db, budgets):
    import_document(tmp_path, COSTLY)

    [budget] = budgets
    assert budget.renders == 1
    assert Incident.objects.get().summary_html == render_markdown(COSTLY)
