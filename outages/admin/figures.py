"""The incident's figures in the admin: upload (checked, resized and stripped by
outages.images), and per figure the Markdown to paste into the incident's text."""

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import format_html

from outages import workflow
from outages.images import STORED_AS, prepared
from outages.models import Figure


class FigureForm(forms.ModelForm):
    class Meta:
        model = Figure
        fields = ["position", "image", "alt_text", "caption"]
        # A plain file field: clean_image() judges the content and says what is wrong in its
        # own words (Django's image field would refuse an SVG as merely "not valid").
        field_classes = {"image": forms.FileField}
        widgets = {
            # What the browser offers to pick; the server judges the content, never this.
            "image": forms.ClearableFileInput(
                attrs={"accept": ",".join(sorted({t for _, _, t in STORED_AS.values()}))}
            ),
            "alt_text": forms.TextInput(attrs={"class": "vTextField figure-text"}),
            "caption": forms.TextInput(attrs={"class": "vTextField figure-text"}),
        }

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            return prepared(image)
        return image


class FigureInline(admin.StackedInline):
    model = Figure
    form = FigureForm
    extra = 0
    fields = [("position", "alt_text"), ("image", "caption"), "markdown_to_paste"]
    readonly_fields = ["markdown_to_paste"]
    verbose_name_plural = "figures (diagrams and graphs)"

    class Media:
        css = {"all": ["outages/admin/figures.css"]}

    @admin.display(description="Markdown to paste")
    def markdown_to_paste(self, figure):
        if figure is None or not figure.image:
            return "Shown once the figure is saved: paste it into any of the texts above."
        return format_html(
            '<img class="figure-thumbnail" src="{}" alt="">'
            '<input class="figure-markdown vLargeTextField" readonly value="{}" '
            'aria-label="Markdown for this figure">',
            figure.src,
            figure.markdown,
        )

    # The incident's own rule: Editors change drafts and incidents in review, not what readers
    # see (the incident's form refuses the whole save too; these keep the buttons honest).
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and workflow.can_edit(request.user, obj)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and workflow.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and workflow.can_edit(request.user, obj)
