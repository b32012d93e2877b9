import time

import markdown
import pytest

from outages.rendering import (
    MARKDOWN_EXTENSIONS,
    MAX_MARKDOWN_LENGTH,
    check_markdown,
    render_markdown,
    sanitise_html,
)


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
        "<svg onload=alert(1)>",
        "<iframe src=https://example.com></iframe>",
        '<a href="vbscript:msgbox(1)">x</a>',
        "```\n</code><script>alert(1)</script>\n```",
    ],
)
def test_no_script_survives(text):
    html = render_markdown(text).lower()

    for bad in ["<script", "onerror", "onclick", "onload", "javascript:", "vbscript:", "style=",
                "<iframe", "<svg", "data:text"]:  # fmt: skip
        assert bad not in html


def test_links_keep_http_https_mailto_and_get_rel():
    html = render_markdown("[a](https://a.example) [b](http://b.example) [c](mailto:c@example.com)")

    assert 'href="https://a.example"' in html
    assert 'href="http://b.example"' in html
    assert 'href="mailto:c@example.com"' in html
    assert html.count('rel="noopener noreferrer"') == 3


def test_tables_code_and_footnotes_survive():
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <here>\n```\n\nNote[^1]\n\n[^1]: Footnote."
    html = render_markdown(text)

    assert "<table>" in html and "<td>1</td>" in html
    assert "<pre><code>code &lt;here&gt;" in html
    assert 'href="#fn:1"' in html


@pytest.mark.parametrize(
    "text",
    [
        ">" * 5000 + " deep",
        "- a\n" + "".join(" " * (4 * depth) + "- a\n" for depth in range(200)),
        "[" * 20000,
        "*" * 20000 + "x",
        "x" * (MAX_MARKDOWN_LENGTH + 1),
    ],
)
def test_pathological_input_is_refused_and_still_renders_fast(text):
    assert check_markdown(text)
    began = time.perf_counter()
    html = render_markdown(text)
    # Not a speed target: a guard that the renderer was bypassed rather than left to hang.
    assert time.perf_counter() - began < 5
    assert html.startswith("<p>")


def test_ordinary_text_passes_the_check():
    assert check_markdown("A **normal** postmortem with [a link](https://example.com).") == []


def test_empty_text_renders_empty():
    assert render_markdown("") == ""


@pytest.mark.parametrize(
    "text",
    [
        "Plain sentence.",
        'Netflix\'s "partial" outage (20:30 UTC) begins; 6.8% of ELBs failed.',
        "1986. A year",
        "1) list",
        "10.5 percent",
        "trailing  ",
        "ünïcödé — text",
        "A http://example.com link",
        "x = y + z - 1",
        "(parenthetical) start",
    ],
)
def test_plain_lines_render_exactly_as_markdown_would(text):
    expected = sanitise_html(markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS))

    assert render_markdown(text) == expected
