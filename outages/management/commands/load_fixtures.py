from django.core.management.base import BaseCommand

from outages import page_cache
from outages.fixtures_loading import load_fixtures
from outages.models import Incident


class Command(BaseCommand):
    help = (
        "Load JSON fixtures of this app's content: every object validated, all files in one "
        "transaction, nothing written if any object is wrong. Use it instead of loaddata."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="JSON fixture files.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into a database without incidents, so that local edits (which "
            "fixtures would overwrite without a revision) are never lost.",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and Incident.objects.exists():
            if options["verbosity"] >= 1:
                self.stdout.write(
                    "The database already holds incidents; fixtures not loaded "
                    "(load them explicitly, or start from an empty database)."
                )
            return
        # load_fixtures raises CommandError listing every problem; Django prints it, no traceback.
        summary = load_fixtures(options["files"])
        # A running site sharing this cache (CACHE_URL) must not go on serving the old pages.
        page_cache.invalidate_all()
        if options["verbosity"] >= 2:
            for label, count in sorted(summary.objects.items()):
                self.stdout.write(f"  {label}: {count}")
        if options["verbosity"] >= 1:
            objects = f"{summary.total} object{'s' if summary.total != 1 else ''}"
            files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
            self.stdout.write(f"Loaded {objects} from {files}.")
