from django.core.management.base import BaseCommand, CommandError

from outages.interchange.fixtures_loading import FixturesRefused, load_fixtures
from outages.models import Incident


class Command(BaseCommand):
    help = (
        "Load JSON fixtures of this app's content: every object validated, all files in one "
        "transaction, nothing written if any object is wrong, a revision for every change. Use "
        "it instead of loaddata. Stored incidents and reference rows are not overwritten unless "
        "asked."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="JSON fixture files.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into a database without incidents (as make setup does), and "
            "otherwise do nothing.",
        )
        parser.add_argument(
            "--update",
            action="store_true",
            help="Update incidents that already exist, as an import does: the fields a "
            "fixture object gives, its rows created or updated in place, a revision for each "
            "incident that changes. Without it an existing incident is refused.",
        )
        parser.add_argument(
            "--update-references",
            action="store_true",
            help="Write the fixtures' values over stored providers, services, regions, "
            "customers and sources that differ, each with a revision. Without it each "
            "difference is reported as a conflict and nothing is loaded.",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and Incident.objects.exists():
            if options["verbosity"] >= 1:
                self.stdout.write(
                    "The database already holds incidents; fixtures not loaded "
                    "(load them explicitly, or start from an empty database)."
                )
            return
        try:
            summary = load_fixtures(
                options["files"],
                update=options["update"],
                update_references=options["update_references"],
            )
        except FixturesRefused as refused:
            raise CommandError(str(refused)) from None
        if options["verbosity"] >= 2:
            for (label, action), count in sorted(summary.objects.items()):
                self.stdout.write(f"  {label} {action}: {count}")
        if options["verbosity"] >= 1:
            objects = f"{summary.total} object{'s' if summary.total != 1 else ''}"
            files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
            revisions = f"{summary.revisions} revision{'s' if summary.revisions != 1 else ''}"
            self.stdout.write(
                f"Loaded {objects} from {files}: {summary.count('created')} created, "
                f"{summary.count('updated')} updated, {summary.count('unchanged')} unchanged; "
                f"{revisions} recorded."
            )
