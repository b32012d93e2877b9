import random
import time

import markdown
import pytest

from outages.rendering import (
    INLINE_BRACKET_LIMIT,
    MARKDOWN_EXTENSIONS,
    MAX_MARKDOWN_LENGTH,
    RenderBudget,
    check_markdown,
    is_plain_ascii_line,
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
    assert 'href="#user-content-fn:1"' in html and 'id="user-content-fn:1"' in html


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


# --- Headings and images ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [("# Timeline", 3), ("## Timeline", 4), ("### Timeline", 5), ("#### Timeline", 6),
     ("###### Timeline", 6), ("Timeline\n========", 3), ("<h1>Timeline</h1>", 3),
     ("<h2>Timeline</h2>", 4)],
)  # fmt: skip
def test_headings_go_under_the_pages_own_and_are_never_dropped(text, level):
    html = render_markdown(text)

    assert html == f"<h{level}>Timeline</h{level}>"


MEDIA = "/media/"


def test_images_of_the_sites_own_media_are_kept_with_alt_and_title():
    html = render_markdown('See ![Requests by minute](/media/figures/ab12.png "Requests")', MEDIA)

    assert '<img alt="Requests by minute" src="/media/figures/ab12.png" title="Requests">' in html


def test_an_own_image_alone_with_a_title_is_a_figure_with_that_caption():
    html = render_markdown('![Requests](/media/figures/ab12.png "Errors <by> minute")', MEDIA)

    assert html == (
        '<figure><img alt="Requests" src="/media/figures/ab12.png">'
        "<figcaption>Errors &lt;by&gt; minute</figcaption></figure>"
    )


def test_own_images_keep_only_src_alt_title_width_and_height():
    html = render_markdown(
        '<img src="/media/figures/a.png" alt="A" width="300" height="200" id="x" '
        'style="border:0" class="c" onerror="alert(1)">',
        MEDIA,
    )

    assert html == '<p><img src="/media/figures/a.png" alt="A" width="300" height="200"></p>'


@pytest.mark.parametrize(
    "src",
    [
        "https://example.com/graph.png",
        "//example.com/media/graph.png",
        "graph.png",
        "/static/graph.png",
        "/media/../admin/graph.png",
        "/mediafigures/graph.png",
    ],
)
def test_other_images_become_their_alt_text(src):
    html = render_markdown(f"Before ![Error rate <by> minute & more]({src}) after", MEDIA)

    assert html == "<p>Before Error rate &lt;by&gt; minute &amp; more after</p>"


@pytest.mark.parametrize(
    "src",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:image/png;base64,iVBORw0KGgo="],
)
def test_script_and_data_sources_are_dropped_and_the_alt_text_kept(src):
    for text in [f"![The graph]({src})", f'<img src="{src}" alt="The graph">']:
        html = render_markdown(text, MEDIA)

        assert "<img" not in html and "javascript" not in html.lower() and "data:" not in html
        assert "The graph" in html


def test_text_parsed_in_the_child_process_keeps_images_and_shifts_headings_too():
    text = "# Graphs\n\n![Own](/media/figures/a.png) ![Other](https://x.example/b.png)\n\n"
    text += "[link](https://example.com) " * (INLINE_BRACKET_LIMIT + 1)

    html = render_markdown(text, MEDIA)

    assert html.startswith("<h3>Graphs</h3>")
    assert '<img alt="Own" src="/media/figures/a.png">' in html
    assert "Other" in html and "x.example" not in html


def test_an_alt_text_with_markup_stays_text():
    html = render_markdown('<img src="https://x.example/a.png" alt="<script>alert(1)</script>">')

    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_the_media_address_is_the_sites_setting_unless_given(settings):
    settings.MEDIA_URL = "/uploads/"

    assert "<img" in render_markdown("![a](/uploads/figures/a.png)")
    assert "<img" not in render_markdown("![a](/media/figures/a.png)")
    assert "<img" in render_markdown("![a](/media/figures/a.png)", "/media/")


def test_a_plain_ascii_line_renders_as_the_sanitiser_would_give_it():
    # The shortcut for plain lines of printable ASCII against the full path (taken under a
    # save's budget): the same HTML for lines of every character that matters, at random.
    rng = random.Random(5)
    plain_alphabet = "aZ09 .,;:'\"()-+=/?%$@"
    alphabet = plain_alphabet + "*_`[]{}<>#!|~&^\\\t\u00a0\u00e9"
    texts = ['It\'s "quoted" (twice).', "1. a list", "2) another", "(" * 60, "x" * 10]
    texts += [
        "".join(rng.choices(letters, k=rng.randint(1, 30)))
        for letters in [plain_alphabet, alphabet]
        for _ in range(1500)
    ]
    plain = 0
    for text in texts:
        with RenderBudget(seconds=1e9):
            expected = render_markdown(text)
        assert render_markdown(text) == expected, text
        plain += is_plain_ascii_line(text)
    assert 100 < plain < len(texts) - 100  # both paths were taken
