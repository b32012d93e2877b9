"""Archived bodies as readable text, and what changed between two versions, bounded for any
input (the changes page is public and a body may be as large as the fetch limit)."""

from outages.archive_text import SHOWN, changes, extract_text


def test_html_is_read_as_its_text_without_scripts_and_styles():
    body = b"<html><head><script>alert(1)</script><style>p{}</style></head><body><h1>Hi</h1>"
    body += b"<p>One <b>two</b></p><ul><li>a</li><li>b <a href=x>c</a></li></ul></body></html>"

    assert extract_text(body, "text/html; charset=utf-8") == "Hi\nOne two\na\nb c"


def test_json_is_laid_out_with_sorted_keys():
    assert extract_text(b'{"b": 1, "a": [2]}', "application/json") == (
        '{\n  "a": [\n    2\n  ],\n  "b": 1\n}'
    )


def test_a_change_is_shown_with_a_few_lines_around_it():
    old = "\n".join("abcdefghij")
    new = old.replace("d", "D")

    assert changes(old, new) == [
        *[("same", line) for line in "abc"],
        ("removed", "d"),
        ("added", "D"),
        *[("same", line) for line in "efg"],
    ]


def test_one_changed_line_in_a_long_text_is_found_as_one_line():
    old = "\n".join(f'"key{n}": {n},' for n in range(30_000))
    new = old.replace('"key15000": 15000,', '"key15000": 15001,')

    found = [(kind, line) for kind, line in changes(old, new) if kind != "same"]

    assert found == [("removed", '"key15000": 15000,'), ("added", '"key15000": 15001,')]


def test_two_long_texts_with_nothing_in_common_give_a_bounded_answer():
    # 40,000 lines against 40,000 others: difflib alone would compare 1.6 billion pairs.
    old = "\n".join(f"old line {n}" for n in range(40_000))
    new = "\n".join(f"new line {n}" for n in range(40_000))

    lines = changes(old, new)

    assert len(lines) == SHOWN + 1
    assert lines[0] == ("removed", "old line 0")
    assert lines[-1] == ("cut", "… and 75000 more changed lines, not shown here")


def test_the_same_text_has_no_changes():
    assert changes("a\nb", "a\nb") == []
