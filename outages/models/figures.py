"""Figures: the diagrams and graphs of a postmortem, uploaded in the admin and referenced from
its Markdown by their address under the site's media."""

from django.conf import settings
from django.db import models

from outages.models.incidents import Incident
from outages.models.parts import IncidentChild
from outages.models.versioned import versioned


def markdown_escaped(text):
    """`text` as a Markdown image's alt text: backslashes and brackets escaped."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


@versioned()
class Figure(IncidentChild):
    # Files are never deleted with their row: an older revision that shows the figure can be
    # restored, and a page that still links it keeps working until the text is changed.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="figures")
    image = models.ImageField(
        upload_to="figures/",
        max_length=200,
        width_field="width",
        height_field="height",
        help_text="PNG, JPEG, WebP or GIF (not SVG), at most 10 MB. Stored at most 1,600 px "
        "wide, with its metadata (camera, place, author) removed; keep your original.",
    )
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    alt_text = models.CharField(
        "alt text",
        max_length=300,
        help_text="What the image shows, for readers who cannot see it: what a graph's lines do, "
        "what a diagram connects. Required.",
    )
    caption = models.CharField(
        max_length=300,
        blank=True,
        help_text="Shown under the image when it stands in a paragraph of its own.",
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "position"], name="figure_position_unique")
        ]

    def __str__(self):
        return self.alt_text[:60]

    @property
    def src(self):
        """The figure's address on this site, whichever storage holds the file."""
        return f"{settings.MEDIA_URL}{self.image.name}"

    @property
    def markdown(self):
        """The Markdown an editor pastes into the incident's text to show the figure."""
        # python-markdown reads a title up to its last quote, so quotes inside need no escape.
        title = f' "{self.caption}"' if self.caption else ""
        return f"![{markdown_escaped(self.alt_text)}]({self.src}{title})"
