"""What django-reversion stores with each revision of a model, declared once: the models register
with these options, and the importer's bulk revision writer reads them from here."""

from dataclasses import asdict, dataclass

import reversion


@dataclass(frozen=True)
class RevisionOptions:
    """The keywords given to reversion.register(); the others keep reversion's defaults."""

    follow: tuple = ()  # relations whose rows are stored with each revision of the row
    fields: tuple | None = None  # None: every field
    format: str = "json"  # the serialiser's


# The rows of an incident stored with each of its revisions (reversion's follow).
INCIDENT_ROWS = ["events", "impacts", "action_items", "corrections", "figures"]
INCIDENT_ROWS += ["action_states", "promise_links", "relations"]

REVISION_OPTIONS = {}  # model -> RevisionOptions


def versioned(**options):
    """Register the model with reversion (a class decorator), keeping its options for
    revision_options()."""
    options = RevisionOptions(**{**options, "follow": tuple(options.get("follow", ()))})

    def register(model):
        REVISION_OPTIONS[model] = options
        return reversion.register(model, **asdict(options))

    return register


def revision_options(model):
    """The options `model` was registered with (KeyError if it was not)."""
    return REVISION_OPTIONS[model]
