import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer


class Command(BaseCommand):
    help = (
        "Import incident documents (YAML or JSON; see docs/incident-format.md). The whole run is "
        "one transaction: if anything is wrong, every problem is reported and nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="Files to import; - reads standard input.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )
        parser.add_argument(
            "--publish", action="store_true", help="Publish the incidents (default: drafts)."
        )
        parser.add_argument(
            "--update-references",
            action="store_true",
            help="Write the documents' values over stored providers, services, regions, customers "
            "and sources that differ (default: each difference is a conflict and nothing is "
            "written).",
        )
        parser.add_argument(
            "--timezone",
            metavar="ZONE",
            help="Default zone of incidents that give no time_zone, e.g. America/Los_Angeles "
            "(or “unstated”): their times without a UTC offset are read in it.",
        )

    def handle(self, *args, **options):
        zone = options["timezone"]
        if zone:
            from django.core.exceptions import ValidationError

            from outages.models import validate_time_zone

            try:
                validate_time_zone(zone)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        documents, problems = [], []
        for name in options["files"]:
            raw, problem = self.read_bytes(name)
            if problem:
                problems.append(problem)
                continue
            document, found = read("<stdin>" if name == "-" else name, raw)
            problems += [str(problem) for problem in found]
            if document is not None:
                documents.append(document)
        importer = Importer(
            zone=zone,
            publish=options["publish"],
            dry_run=options["dry_run"],
            progress=self.progress_bar,
            update_references=options["update_references"],
        )
        try:
            if problems:
                raise ImportFailed([])
            report = importer.run(documents)
        except ImportFailed as failure:
            problems += [str(problem) for problem in failure.problems]
            self.write_warnings(failure.warnings)
            raise CommandError(
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was "
                "written.\n" + "\n".join(problems)
            ) from None
        if options["dry_run"] or options["verbosity"] > 1:
            self.write_details(report)
        self.write_warnings(report.warnings)
        self.stdout.write(report.summary())

    def write_warnings(self, warnings):
        if warnings:
            self.stdout.write(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:")
            for warning in warnings:
                self.stdout.write(f"    {warning}")

    def read_bytes(self, name):
        if name == "-":
            return sys.stdin.buffer.read(), None
        try:
            with open(name, "rb") as handle:
                return handle.read(), None
        except OSError as error:
            return None, f"{name}: cannot be read ({error.strerror})"

    def progress_bar(self, items):
        # Only worth drawing on long runs, and only for a person at a terminal.
        show = len(items) >= 50 and sys.stderr.isatty()
        return tqdm(items, desc="Importing", unit="incident", disable=not show)

    def write_details(self, report):
        for incident in report.incidents:
            self.stdout.write(f"{incident.file}: {incident.slug}: {incident.action}")
            for what, action in incident.rows:
                if action != "unchanged" or report.dry_run:
                    self.stdout.write(f"    {what}: {action}")
