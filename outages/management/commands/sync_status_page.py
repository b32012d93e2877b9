from django.core.management.base import BaseCommand, CommandError

from outages.interchange.syncing import SyncFailed, sync
from outages.models import StatusPage


class Command(BaseCommand):
    help = (
        "Sync one status page (a URL or a recorded file) into the knowledge base: new provider "
        "incidents become drafts, new updates are appended, all in one transaction or nothing "
        "(docs/status-pages.md). A configured status page with this URL records the result."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="The history's URL, or a file holding it.")
        parser.add_argument("--provider", required=True, help="The provider's slug.")
        parser.add_argument(
            "--format",
            required=True,
            choices=StatusPage.Format.values,
            help="The history's format.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args, **options):
        # The configured page records this run only when it is that page: same address,
        # provider and format (its ETag belongs to that reading of it).
        page = StatusPage.objects.filter(
            url=options["source"], provider__slug=options["provider"], format=options["format"]
        ).first()
        try:
            report = sync(
                options["provider"],
                options["format"],
                options["source"],
                page=page,
                dry_run=options["dry_run"],
            )
        except SyncFailed as failure:
            raise CommandError(str(failure)) from None
        write_report(self.stdout, report, options["verbosity"])


def write_report(out, report, verbosity=1):
    """The summary line, after the merges and warnings a person should know of."""
    if verbosity > 0:
        for line in report.details:
            out.write(f"    {line}")
        for warning in report.warnings:
            out.write(f"    warning: {warning}")
    out.write(report.summary())
