"""A citation of one published version of an incident, as plain text, BibTeX and CSL-JSON (what
reference managers such as Zotero import). Pure: it takes plain data, no models.

The date a citation is issued is the version's: it never changes, so pages that show it can be
cached. The date the reader saw it ("accessed") is given only where it is asked for, in the
downloaded files (web/versions.py)."""

import json
import re
from dataclasses import dataclass
from datetime import date

from outages import text

SITE = "postmortems"


@dataclass(frozen=True)
class Citation:
    key: str  # "<slug>-v<n>": a name for it in a bibliography
    title: str
    provider: str
    number: int
    issued: date  # the day the version was published (UTC)
    url: str  # the version's permanent address, absolute

    def as_text(self, accessed=None):
        """One line, in the common web-page pattern: who, “what”, where, version, when, address."""
        line = (
            f"{self.provider} incident. “{self.title}.” {SITE}, version {self.number}, "
            f"{text.calendar_day(self.issued)}. {self.url}"
        )
        if accessed is not None:
            line += f" (accessed {text.calendar_day(accessed)})"
        return line

    def as_bibtex(self, accessed=None):
        """A @misc entry; `urldate` is biblatex's field for the access date."""
        fields = [
            ("title", f"{{{bibtex_escape(self.title)}}}"),  # braced again: keep its capitals
            ("author", f"{{{SITE}}}"),
            ("howpublished", f"\\url{{{self.url}}}"),
            ("url", self.url),
            ("year", str(self.issued.year)),
            ("month", str(self.issued.month)),
            ("date", self.issued.isoformat()),
            ("version", str(self.number)),
            ("note", f"{bibtex_escape(self.provider)} incident; version {self.number}"),
        ]
        if accessed is not None:
            fields.append(("urldate", accessed.isoformat()))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        return f"@misc{{{self.key},\n{body}\n}}\n"

    def as_csl(self, accessed=None):
        """One CSL-JSON item (a list of them is a CSL-JSON file)."""
        item = {
            "id": self.key,
            "type": "webpage",
            "title": self.title,
            "author": [{"literal": SITE}],
            "container-title": SITE,
            "genre": f"{self.provider} incident",
            "version": str(self.number),
            "URL": self.url,
            "issued": {"date-parts": [date_parts(self.issued)]},
        }
        if accessed is not None:
            item["accessed"] = {"date-parts": [date_parts(accessed)]}
        return item

    def as_csl_json(self, accessed=None):
        return json.dumps([self.as_csl(accessed)], ensure_ascii=False, indent=2) + "\n"


def date_parts(day):
    return [day.year, day.month, day.day]


# BibTeX's special characters, each as it is written in text.
BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
BIBTEX_SPECIAL_PATTERN = re.compile("|".join(re.escape(char) for char in BIBTEX_SPECIAL))


def bibtex_escape(value):
    """Plain text as BibTeX text: its special characters written out, braces balanced."""
    return BIBTEX_SPECIAL_PATTERN.sub(lambda match: BIBTEX_SPECIAL[match.group()], value)
