"""What every row shares: its text checked for control characters, Markdown bounded and derived
to HTML, content dates within sane ranges, and the time zone names incidents may use."""

import zoneinfo
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import FieldError, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.db.models.signals import pre_save
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE
from django.dispatch import receiver
from django.utils import timezone

from outages import text
from outages.rendering import (
    MAX_MARKDOWN_LENGTH,
    budget_problem,
    check_markdown,
    render_markdown,
)


def validate_markdown(text):
    problems = check_markdown(text)
    if problems:
        raise ValidationError(problems)


# The time zone of an incident whose sources state none. Its times are stored as the wall-clock
# values the sources wrote, read as if UTC only so they can be stored; pages show them as written
# and say the zone is not stated, and comparisons across incidents leave them out. (Defined with
# the words for times, which need it too and may not import models.)
ZONE_UNSTATED = text.ZONE_UNSTATED


def validate_time_zone(name):
    if name == ZONE_UNSTATED:
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"“{name}” is not a time zone name. Use an IANA name such as America/Los_Angeles, "
            f"or “{ZONE_UNSTATED}” when the source states no zone."
        ) from None


class Precision(models.TextChoices):
    """How exactly a time is known, for timeline events and the incident's milestones. A time
    known to the day, month or year is stored as the start of that period in the incident's zone.
    """

    MINUTE = "minute", "To the minute"
    APPROXIMATE = "approximate", "Approximate"
    HOUR = "hour", "To the hour"
    DATE = "date", "Day"  # the stored value stays "date": existing data and documents use it
    MONTH = "month", "Month"
    YEAR = "year", "Year"


# --- Sane ranges for content dates ------------------------------------------------------------

# What happened in the history of cloud services happened after 1970, and nothing is planned
# more than a year ahead: a date outside that is a typo (year 1, year 9999, 2102 for 2012).
# Every content date and time (milestones, timeline events, customer impacts, source dates) is
# checked by validate_content_date(), which the admin, the importer and load_fixtures all run
# (full_clean). The lower bound is also a CHECK constraint (from_1970); the upper one cannot be:
# "now" moves, and a CHECK must hold for a row whenever it is checked.
EARLIEST_CONTENT_DAY = date(1970, 1, 1)
EARLIEST_CONTENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=366)  # a year, leap day included


def message_day(value):
    """“12 Mar 0001”: the day of a date or time (in UTC), with every digit of the year."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return f"{value.day} {value:%b} {value.year:04d}"


def validate_content_date(value):
    """Refuse a date or time before 1970 or more than a year ahead of now, in plain words."""
    now = timezone.now()
    if isinstance(value, datetime):
        too_early = value < EARLIEST_CONTENT_TIME
        too_late = value > text.shifted(now, LATEST_AHEAD)
    else:
        too_early = value < EARLIEST_CONTENT_DAY
        too_late = value > (now + LATEST_AHEAD).date()
    if too_early:
        raise ValidationError(
            f"{message_day(value)} is before 1970; check the year.", code="before_1970"
        )
    if too_late:
        raise ValidationError(
            f"{message_day(value)} is more than a year from now; check the year.", code="too_late"
        )


def from_1970(field_name, table):
    """The database's half of the range rule: `field_name` is empty or from 1970 on. Named
    `<table>_<field>_from_1970`; validate_content_date() says the same in words."""
    earliest = EARLIEST_CONTENT_DAY if field_name == "published_on" else EARLIEST_CONTENT_TIME
    return models.CheckConstraint(
        condition=Q(**{f"{field_name}__gte": earliest}),
        name=f"{table}_{field_name}_from_1970",
        violation_error_message=f"{field_name} is before 1970; check the year.",
    )


class MarkdownField(models.TextField):
    """Editor-written Markdown, bounded in size and checked for input the renderer chokes on."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault(
            "validators", [MaxLengthValidator(MAX_MARKDOWN_LENGTH), validate_markdown]
        )
        super().__init__(*args, **kwargs)


@receiver(pre_save)
def render_markdown_fields(sender, instance, **kwargs):
    """Derive each `<field>_html` from its Markdown on every save of the row.

    A pre_save receiver rather than save(): loaddata saves raw, skipping save(), and fixture
    rows need their HTML too. It touches only the row being saved.
    """
    for name in getattr(sender, "markdown_fields", ()):
        setattr(instance, f"{name}_html", render_markdown(getattr(instance, name)))


class ChecksInOneQuery(models.Model):
    """Checks a row against its CheckConstraints with one query, where Django sends one per
    constraint, each inside a savepoint when a transaction is open (three round trips): an
    incident's eleven cost 33 round trips on every save in the admin, which a loaded server
    pays in seconds. The same conditions as Django's own check, NULL passing as in the
    database; other constraints (unique ones) are checked as Django does."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        using = router.db_for_write(self.__class__, instance=self)
        errors, checks = {}, []
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                if isinstance(constraint, models.CheckConstraint):
                    checks.append(constraint)
                    continue
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as error:
                    if getattr(error, "code", None) == "unique" and len(constraint.fields) == 1:
                        errors.setdefault(constraint.fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
        for constraint in failed_checks(self, checks, exclude, using):
            failure = ValidationError(
                constraint.get_violation_error_message(), code=constraint.violation_error_code
            )
            errors = failure.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


def failed_checks(row, checks, exclude, using):
    """The CheckConstraints the row's values fail, read with one query (Q.check's, for all)."""
    query = Query(None)
    for name, value in row_values(row, exclude).items():
        query.add_annotation(value, name, select=False)
    named = {}
    for number, constraint in enumerate(checks):
        name = f"_check_{number}"
        passes = Coalesce(Q(constraint.condition), True, output_field=models.BooleanField())
        try:
            query.add_annotation(passes, name)
        except FieldError:
            continue  # it names a field left out of this check (exclude), as Django skips it
        named[name] = constraint
    if not named:
        return []
    connection = connections[using]
    try:
        with transaction.atomic(using=using) if connection.in_atomic_block else nullcontext():
            results = query.get_compiler(using=using).execute_sql(SINGLE)
    except DatabaseError:
        return []  # as Django's own check: the database's CHECK still refuses a bad row
    return [
        constraint for constraint, passed in zip(named.values(), results, strict=True) if not passed
    ]


def row_values(row, exclude):
    """{field name: the row's value} for a check, as Django's own check reads them (the row's
    models have no generated fields)."""
    exclude = exclude or set()
    values = {}
    for field in row._meta.local_concrete_fields:
        if field.name not in exclude:
            values[field.name] = Value(getattr(row, field.attname), field)
    if "pk" not in exclude:
        values["pk"] = Value(row.pk, row._meta.pk)
    return values


class TextChecked(ChecksInOneQuery):
    """Refuses control characters in every text field (text.CONTROL_CHARACTERS), whichever
    path saves the row: the admin, the importer and load_fixtures all run full_clean(). Under a
    save's rendering budget (rendering.RenderBudget), also refuses Markdown the save cannot
    afford to render, at its field."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.error_dict
        for model_field in self._meta.concrete_fields:
            value = getattr(self, model_field.attname)
            if model_field.name in (exclude or ()) or not isinstance(value, str):
                continue
            problem = text.control_character_problem(value)
            if problem:
                errors.setdefault(model_field.name, []).append(
                    ValidationError(f"This {problem}.", code="control_character")
                )
        for name in getattr(self, "markdown_fields", ()):
            if name in errors or name in (exclude or ()):
                continue
            problem = budget_problem(getattr(self, name))
            if problem:
                errors[name] = [ValidationError(problem, code="render_budget")]
        if errors:
            raise ValidationError(errors)
