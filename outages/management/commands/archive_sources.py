from django.core.management.base import BaseCommand, CommandError

from outages.interchange.archive import archive_sources, plural
from outages.models import Source


class Command(BaseCommand):
    help = (
        "Fetch every cited source (or those given) and keep a copy of each whose content "
        "changed since its last archived version. Goes on past a source that fails; exits 1 "
        "when any did. With -v 0, prints only what failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("urls", nargs="*", metavar="URL", help="Only these sources' URLs.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Fetch and compare, but store nothing."
        )

    def handle(self, *args, urls, dry_run, **options):
        sources = Source.objects.order_by("url")
        if urls:
            sources = sources.filter(url__in=urls)
            unknown = sorted(set(urls) - {source.url for source in sources})
            if unknown:
                raise CommandError(
                    "No source has the URL " + ", ".join(unknown) + "; nothing was fetched."
                )

        # -v 0 (for cron) prints only the sources that failed, and then the summary.
        quiet = options["verbosity"] == 0

        def report(result):
            if not quiet or result.outcome == "failed":
                self.stdout.write(result.line)

        run = archive_sources(sources, dry_run=dry_run, report=report)
        failed = run.count("failed")
        if failed or not quiet:
            self.stdout.write(run.summary)
        if failed:
            sources = plural(len(run.results), "source")
            raise CommandError(f"{failed} of {sources} could not be archived; see above.")
