"""Django's form renderer, without a template rendered to print an empty error list.

Every field prints its errors, and an incident's change form in the admin holds hundreds of
fields (a row of them for each timeline event, correction, source and impact): 734 of the 1,788
templates rendered for the largest shipped incident's form were empty error lists, each giving
"". Lists that hold errors, and the plain-text lists (whose template ends in a newline), are
rendered by Django's templates as before.
"""

from django.forms.renderers import DjangoTemplates

ERROR_LIST_TEMPLATES = "django/forms/errors/list/"


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        if (
            template_name.startswith(ERROR_LIST_TEMPLATES)
            and template_name.endswith(".html")
            and not context.get("errors")
        ):
            return ""
        return super().render(template_name, context, request)
