from django.apps import AppConfig


class OutagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outages"

    def ready(self):
        from reversion.signals import post_revision_commit

        from outages.models import revisions_held
        from outages.web import freezing

        # Every revision of a published incident that changes it is a new citable version.
        post_revision_commit.connect(freezing.on_revision_commit, dispatch_uid="freeze-versions")
        revisions_held.connect(freezing.on_revisions_held, dispatch_uid="hold-versions")
