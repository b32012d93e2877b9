from django.core.management.base import BaseCommand, CommandError

from outages.interchange.yaml_export import dump, incidents_for_export
from outages.models import Incident


class Command(BaseCommand):
    help = (
        "Write incidents as an incident document (YAML) to standard output: the import format, "
        "and the documented backup. Published incidents unless --all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", help="Only incidents of this provider (slug).")
        parser.add_argument("--customer", help="Only incidents that name this customer (slug).")
        parser.add_argument(
            "--slug", action="append", help="Only this incident (repeat for several)."
        )
        parser.add_argument(
            "--all", action="store_true", help="Every incident, drafts and withdrawn ones too."
        )

    def handle(self, *args, **options):
        incidents = Incident.objects.all() if options["all"] else Incident.objects.published()
        if options["provider"]:
            incidents = incidents.filter(provider__slug=options["provider"])
        if options["slug"]:
            incidents = incidents.filter(slug__in=options["slug"])
        if options["customer"]:
            incidents = incidents.filter(impacts__customer__slug=options["customer"]).distinct()
        incidents = list(incidents_for_export(incidents, unpublished_ends=options["all"]))
        if not incidents:
            raise CommandError("No incidents match; nothing was written.")
        self.stdout.write(dump(incidents), ending="")
