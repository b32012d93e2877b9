"""The editor of bench.stress: signs into the admin and saves an incident's change form again
and again, the way a browser would submit it, recording how each save ended.
"""

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode

from .server import HOST, Failed, query

CLIENT_TIMEOUT = 15  # seconds; longer than bench.stress allows, so slow answers are seen, not cut
EDITOR_INTERVAL = 1.0  # seconds between the saves' planned starts (a fixed clock)
UNAVAILABLE_TEXT = b"briefly unavailable"  # the heading of templates/503.html
ROW_TABLES = {
    "timeline events": "outages_timelineevent",
    "customer impacts": "outages_customerimpact",
    "action items": "outages_actionitem",
    "corrections": "outages_correction",
    "services": "outages_incident_services",
    "regions": "outages_incident_regions",
    "sources": "outages_incident_sources",
}


class FormReader(HTMLParser):
    """The fields a browser would submit from the form with this id: inputs (checked boxes
    only), textareas and the selected options of selects; no buttons."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields = []  # (name, value), in order, repeated names for multiple selects
        self.textarea = self.select = None
        self.options = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
        elif tag == "select" and name:
            self.select, self.options = (name, "multiple" in attrs), []
        elif tag == "option" and self.select:
            self.options.append((attrs.get("value", ""), "selected" in attrs))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # Browsers drop the newline Django writes after <textarea>.
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None
        elif tag == "select" and self.select:
            name, multiple = self.select
            chosen = [value for value, selected in self.options if selected]
            if not chosen and not multiple and self.options:
                chosen = [self.options[0][0]]
            self.fields += [(name, value) for value in chosen]
            self.select = None


@dataclass
class Save:
    number: int
    started: float
    ended: float = 0.0
    title: str = ""
    outcome: str = ""  # saved, refused (503 on the save), unavailable (503 on the form), failed
    detail: str = ""
    requests: list = field(default_factory=list)  # (start, end) of the form's GET, the POST


@dataclass
class Editor:
    port: int
    incident_pk: int
    clock: object
    cookies: dict = field(default_factory=dict)
    saves: list = field(default_factory=list)
    checks: list = field(default_factory=list)  # problems seen in the form after a save
    baseline: dict = field(default_factory=dict)  # inline prefix-INITIAL_FORMS: row count
    base_title: str = ""
    last_title: str | None = None  # the title of the last successful save, once run
    timings: list = field(default_factory=list)  # (start, end) of the current save's requests
    timeout: float = CLIENT_TIMEOUT
    interval: float = EDITOR_INTERVAL

    @property
    def path(self):
        return f"/admin/outages/incident/{self.incident_pk}/change/"

    def request(self, method, path, fields=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        started = self.clock()
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode(errors="replace")
        finally:
            connection.close()
            self.timings.append((started, self.clock()))
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name.strip()] = value.strip()
        return answer.status, answer.headers, text

    def login(self, username, password):
        status, _, page = self.request("GET", "/admin/login/?next=/admin/")
        form = FormReader("login-form")
        form.feed(page)
        fields = dict(form.fields) | {"username": username, "password": password}
        status, headers, page = self.request("POST", "/admin/login/?next=/admin/", fields)
        if status != 302 or "sessionid" not in self.cookies:
            raise Failed(f"The admin login answered {status}, not a redirect with a session.")

    def read_form(self):
        status, _, page = self.request("GET", self.path)
        if status != 200:
            return status, page, None
        form = FormReader("incident_form")
        form.feed(page)
        return status, page, form.fields

    @staticmethod
    def shape(fields):
        """The title and how many rows each inline holds, as the form shows them."""
        values = dict(fields)
        counts = {k: values[k] for k in sorted(values) if k.endswith("-INITIAL_FORMS")}
        return values.get("title"), counts

    def run(self, running):
        status, page, fields = self.read_form()
        if fields is None:
            raise Failed(f"The incident's change form answered {status}.")
        expected, self.baseline = self.shape(fields)
        # Without the mark of an earlier run's last save, so titles do not grow run after run.
        self.base_title = re.sub(r"( \(stress save \d+\))+$", "", expected)
        number, first = 0, self.clock()
        while running():
            number += 1
            save = Save(number, self.clock())
            self.saves.append(save)
            self.timings = save.requests
            try:
                self.save_once(save, expected)
            except (OSError, http.client.HTTPException) as error:
                save.outcome, save.detail = "failed", f"no answer: {error!r}"
            save.ended = self.clock()
            if save.outcome == "saved":
                expected = save.title
            # Saves start on a fixed clock, every interval from the first: one that ran late
            # is followed at once, so the saves catch up rather than drift.
            time.sleep(max(0.0, first + number * self.interval - self.clock()))
        self.last_title = expected

    def thread(self, running, errors):
        """A daemon thread that runs the editor; if it stops on an exception, errors says so."""

        def edit():
            try:
                self.run(running)
            except Exception as error:  # reported, never a silent thread death
                errors.append(f"the editor stopped: {error!r}")

        return threading.Thread(target=edit, daemon=True)

    def save_once(self, save, expected):
        status, page, fields = self.read_form()
        if fields is None:
            save.outcome = "unavailable" if clean_503(status, page) else "failed"
            save.detail = f"change form answered {status}"
            return
        title, counts = self.shape(fields)
        if (title, counts) != (expected, self.baseline):
            self.checks.append(
                f"before save {save.number}: the form shows {title!r} with rows {counts}; "
                f"expected {expected!r} with {self.baseline}"
            )
        save.title = f"{self.base_title} (stress save {save.number})"
        fields = [(k, save.title if k == "title" else v) for k, v in fields]
        status, headers, page = self.request("POST", self.path, fields)
        if status == 302:
            save.outcome = "saved"
        elif clean_503(status, page):
            save.outcome, save.detail = "refused", "503 page"
        else:
            save.outcome = "failed"
            errors = re.findall(r'class="errornote">(.*?)<|class="errorlist[^>]*>(.*?)</ul', page)
            save.detail = f"save answered {status}: {errors[:3] or page[:300]}"


def clean_503(status, page):
    """The site's own 503 page (templates/503.html), not a bare error or a traceback."""
    text = page.encode() if isinstance(page, str) else page
    return status == 503 and UNAVAILABLE_TEXT in text and b"Traceback" not in text


def incident_state(url, pk):
    """What the database holds of the incident: title, lock number, revisions, row counts."""
    counts = {
        label: query(url, f"SELECT count(*) FROM {table} WHERE incident_id = %s", [pk])[0][0]
        for label, table in ROW_TABLES.items()
    }
    rows = query(url, "SELECT title, version FROM outages_incident WHERE id = %s", [pk])
    title, version = rows[0]
    revisions = query(
        url,
        "SELECT count(*) FROM reversion_version v JOIN django_content_type t"
        " ON t.id = v.content_type_id WHERE t.app_label = 'outages' AND t.model = 'incident'"
        " AND v.object_id = %s",
        [str(pk)],
    )[0][0]
    return {"title": title, "version": version, "revisions": revisions, "rows": counts}
