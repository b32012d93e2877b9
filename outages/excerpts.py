"""Short excerpts of rendered postmortem text for the top of a page: the first paragraph of a
section, and the first sentence of it as plain text. Pure: stored HTML in, HTML or text out."""

import re
from html import unescape
from html.parser import HTMLParser

FIRST_PARAGRAPH = re.compile(r"<p(?:\s[^>]*)?>.*?</p>", re.DOTALL)
# A sentence may end at . ! or ? followed by space and a capital, a digit or an opening
# bracket or quote, unless the word before is an abbreviation (“U.S. East”, “e.g. Netflix”).
SENTENCE_END = re.compile(r"[.!?][)\"”’]?\s+(?=[A-Z0-9“\"(])")
ABBREVIATION = re.compile(r"(?:^|\s)(?:(?:[A-Za-z]\.)+|etc\.|vs\.|approx\.|[A-Z][a-z]?\.)$")
# A bold run-in label such as "**Trigger.**" or "**Root cause:**": a few words, no colon inside.
LABEL_WORDS = 3
LONGEST_SENTENCE = 45  # words; past this the sentence is cut with an ellipsis


def first_paragraph(html):
    """The first <p> of rendered Markdown, as it is (sanitised already); "" when there is none.
    A <p> holds no block elements, so the piece is well formed on its own."""
    found = FIRST_PARAGRAPH.search(html or "")
    return found.group(0) if found else ""


class FirstBlock(HTMLParser):
    """The text of the first paragraph or list item, and of a <strong> that opens it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0  # inside the first block when > 0
        self.done = False
        self.text = []
        self.label = None  # the opening <strong>'s text, while it is being read: a list
        self.opening = True  # nothing but space read in the block yet

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if tag in ("p", "li"):
            if self.depth and tag == "li":  # a nested list ends the first item's own text
                self.done = True
                return
            self.depth += 1
        elif tag == "strong" and self.depth and self.opening:
            self.label = []

    def handle_endtag(self, tag):
        if self.done or not self.depth:
            return
        if tag == "strong" and isinstance(self.label, list):
            self.label = "".join(self.label)
        if tag in ("p", "li"):
            self.done = True

    def handle_data(self, data):
        if self.done or not self.depth:
            return
        self.text.append(data)
        if isinstance(self.label, list):
            self.label.append(data)
        if data.strip():
            self.opening = False


def first_sentence(html):
    """The first sentence of the first paragraph or list item, as plain text: “Trigger: by
    mistake, a maintenance process was executed against …”. A bold run-in label (“Trigger.”)
    is kept as a label before the sentence that follows it rather than taken for the sentence.
    "" when the text is empty."""
    block = FirstBlock()
    block.feed(html or "")
    text = " ".join(unescape("".join(block.text)).split())
    label = " ".join(block.label.split()) if isinstance(block.label, str) else ""
    prefix = ""
    is_label = len(label.split()) <= LABEL_WORDS and ":" not in label[:-1]
    if label and is_label and label[-1] in ".:" and text.startswith(label):
        prefix = f"{label[:-1]}: "
        text = text[len(label) :].strip()
    sentence = first_of(text)
    words = sentence.split()
    if len(words) > LONGEST_SENTENCE:
        sentence = " ".join(words[:LONGEST_SENTENCE]).rstrip(",;:") + " …"
    return f"{prefix}{sentence}" if sentence else ""


def first_of(text):
    """The first sentence of plain text (all of it when it has one)."""
    for end in SENTENCE_END.finditer(text):
        if not ABBREVIATION.search(text[: end.start() + 1]):
            return text[: end.end()].strip()
    return text.strip()
