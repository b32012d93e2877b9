"""The form renderer prints exactly what Django's does, with fewer templates."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from postmortems.form_renderer import FormRenderer


class Form(forms.Form):
    title = forms.CharField()
    summary = forms.CharField(required=False)


@pytest.mark.parametrize("data", [{"title": "ELB", "summary": ""}, {"summary": "no title"}])
def test_forms_render_as_with_djangos_renderer(data):
    ours, django = Form(data, renderer=FormRenderer()), Form(data, renderer=DjangoTemplates())

    assert str(ours) == str(django)
    for name in ("title", "summary"):
        assert ours[name].errors.as_ul() == django[name].errors.as_ul()
        assert ours[name].errors.as_text() == django[name].errors.as_text()
    assert ours.errors.as_ul() == django.errors.as_ul()


def test_an_empty_error_list_renders_no_template(monkeypatch):
    rendered = []
    real = DjangoTemplates.render
    monkeypatch.setattr(
        DjangoTemplates,
        "render",
        lambda self, name, *a, **k: rendered.append(name) or real(self, name, *a, **k),
    )
    form = Form({"summary": "no title"}, renderer=FormRenderer())

    assert "This field is required." in form["title"].errors.as_ul()
    assert form["summary"].errors.as_ul() == ""
    assert rendered == ["django/forms/errors/list/ul.html"]
