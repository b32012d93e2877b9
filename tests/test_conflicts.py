"""How a difference between a stored row and a file is written in a report."""

import datetime

from outages.interchange.conflicts import describe


def test_text_is_quoted_stored_value_first():
    assert describe("title", "A", "B") == 'title "A" → "B"'


def test_empty_values_dates_and_keys_read_as_in_a_json_file():
    assert describe("published_on", datetime.date(2013, 1, 2), None) == (
        'published_on "2013-01-02" → null'
    )
    assert describe("provider", ["aws"], ["heroku"]) == 'provider ["aws"] → ["heroku"]'
    assert describe("is_key_event", False, True) == "is_key_event false → true"
    assert describe("note", "", "Read again.") == 'note "" → "Read again."'


def test_long_texts_are_shown_around_their_first_difference():
    old = "word " * 40 + "the old ending."
    new = "word " * 40 + "the new ending."

    text = describe("note", old, new)

    assert text == 'note "… word word word the old ending." → "… word word word the new ending."'


def test_long_texts_that_differ_late_after_a_long_tail_are_cut():
    old = "x" * 200
    new = "x" * 100 + "y" * 100

    field, before, arrow, after = describe("note", old, new).split(" ")

    assert arrow == "→"
    assert len(before) <= 82 and len(after) <= 82
    assert after.startswith('"…' + "x" * 20 + "y")
