import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from outages.documents import ImportFailed, read
from outages.importing import Importer


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
            "--timezone",
            metavar="ZONE",
            help="IANA zone for times written without a UTC offset, e.g. America/Los_Angeles.",
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
        )
        try:
            if problems:
                raise ImportFailed([])
            report = importer.run(documents)
        except ImportFailed as failure:
            problems += [str(problem) for problem in failure.problems]
            raise CommandError(
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was "
                "written.\n" + "\n".join(problems)
            ) from None
        if options["dry_run"] or options["verbosity"] > 1:
            self.write_details(report)
        for warning in report.warnings:
            self.stdout.write(warning)
        self.stdout.write(report.summary())

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
