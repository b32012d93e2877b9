"""The HTML of new incidents' Markdown, rendered in a second Python process while the importer
plans and writes."""

import json
import queue
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from django.conf import settings

from outages.models import CustomerImpact, Incident, TimelineEvent
from outages.rendering import kept_render, render_markdown

# New incidents from which their Markdown is rendered in a second process; for fewer, starting
# one costs more than it saves.
RENDER_ELSEWHERE_FROM = 300
RENDER_BATCH = 500  # texts per batch sent to that process
RENDER_TIMEOUT_SECONDS = 120  # for one batch; then the rest is rendered here
# The child has no settings: it is given the site's media address (which images to keep).
RENDERER = (
    "import json, sys\n"
    "from outages.rendering import render_markdown\n"
    "media_url = sys.argv[1]\n"
    "for line in sys.stdin:\n"
    "    html = [render_markdown(text, media_url) for text in json.loads(line)]\n"
    "    print(json.dumps(html), flush=True)\n"
)
PROJECT_DIR = Path(__file__).resolve().parents[2]


class Renderer:
    """The HTML of new incidents' Markdown, as models.render_markdown_fields derives it on
    save. Rendering needs nothing from the database, so on a large import a second Python
    process (only outages.rendering, no Django) does it while this one plans and writes; small
    imports, or a child that cannot start or fails, render here instead. Texts go out in
    batches, one JSON line each, through two threads, so that neither side ever waits on a full
    pipe."""

    def __init__(self, new_incidents):
        self.queue = []  # (object, HTML attribute, Markdown) not sent yet
        self.jobs = deque()  # (number, sent to the child, queued entries)
        self.sent = 0
        self.child = None
        if new_incidents >= RENDER_ELSEWHERE_FROM:
            self.start()

    def start(self):
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-c", RENDERER, settings.MEDIA_URL],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=PROJECT_DIR,
                text=True,
                encoding="ascii",  # json.dumps escapes everything else
            )
        except OSError:
            return
        self.outbox, self.results = queue.SimpleQueue(), queue.SimpleQueue()
        threading.Thread(target=self.write_lines, args=[self.child.stdin], daemon=True).start()
        threading.Thread(target=self.read_lines, args=[self.child.stdout], daemon=True).start()

    def write_lines(self, pipe):
        try:
            with pipe:
                for line in iter(self.outbox.get, None):
                    pipe.write(line)
                    pipe.flush()
        except (OSError, ValueError):
            pass  # the child has gone; read_lines says so

    def read_lines(self, pipe):
        try:
            with pipe:
                for line in pipe:
                    self.results.put(json.loads(line))
        except (OSError, ValueError):
            pass
        self.results.put(None)

    def add(self, change):
        incident = change.incident
        for model, rows in [
            (Incident, [incident]),
            (TimelineEvent, change.rows[TimelineEvent][0]),
            (CustomerImpact, [impact for impact, _, _ in change.impacts]),
        ]:
            for row in rows:
                for name in model.markdown_fields:
                    text = getattr(row, name)
                    # Costly text was rendered at validation, under the incident's budget.
                    html = kept_render(text)
                    if html is None:
                        self.queue.append((row, f"{name}_html", text))
                    else:
                        setattr(row, f"{name}_html", html)
        if len(self.queue) >= RENDER_BATCH:
            self.send()

    def send(self):
        """Send what is queued; returns a mark for finish()."""
        if self.queue:
            batch, self.queue = self.queue, []
            self.sent += 1
            if self.child is not None:
                self.outbox.put(json.dumps([text for _, _, text in batch]) + "\n")
            self.jobs.append((self.sent, self.child is not None, batch))
        return self.sent

    def finish(self, mark):
        """Set the HTML of everything queued before send() returned `mark`."""
        while self.jobs and self.jobs[0][0] <= mark:
            _, elsewhere, batch = self.jobs.popleft()
            html = self.result() if elsewhere else None
            if html is None or len(html) != len(batch):
                html = [render_markdown(text) for _, _, text in batch]
            for (row, attribute, _), value in zip(batch, html, strict=True):
                setattr(row, attribute, value)

    def result(self):
        if self.child is None:
            return None  # failed before: the rest is rendered here
        try:
            html = self.results.get(timeout=RENDER_TIMEOUT_SECONDS)
        except queue.Empty:
            html = None
        if html is None:
            self.close()
        return html

    def close(self):
        if self.child is None:
            return
        child, self.child = self.child, None
        self.outbox.put(None)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
