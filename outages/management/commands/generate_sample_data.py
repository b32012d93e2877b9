from django.core.management.base import BaseCommand, CommandError

from outages import page_cache
from outages.interchange import sample_data


class Command(BaseCommand):
    help = (
        "Fill a scratch database with synthetic, published sample incidents for benchmarks: "
        "providers, services, regions, customers (about one per ten incidents), sources, and "
        "incidents with 5-30 timeline events, customer impacts and action items, then their "
        "search index. The same --incidents and --seed always give the same data. Every row is "
        f"marked: slugs begin with “{sample_data.SLUG_PREFIX}”, provider, customer and incident "
        f"names with “{sample_data.NAME_PREFIX}”, source URLs with {sample_data.URL_PREFIX}; "
        "services and regions belong to sample providers. Words for search benchmarks "
        "(outages.interchange.sample_data.COMMON_WORD, RARE_WORDS): "
        f"“{sample_data.COMMON_WORD}” is in about {sample_data.COMMON_WORD_SHARE:.0%} of the "
        f"incidents; each of {', '.join(sample_data.RARE_WORDS)} is in exactly "
        f"{sample_data.RARE_WORD_INCIDENTS} (RARE_WORD_INCIDENTS). Refuses a database that holds "
        "any incident that is not sample data. One transaction: on any error nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--incidents", type=int, required=True, metavar="N", help="How many incidents."
        )
        parser.add_argument(
            "--seed", type=int, default=0, metavar="S", help="Seed of the generator (default 0)."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete earlier sample data first (without it, existing sample data is refused).",
        )

    def handle(self, *args, **options):
        if options["incidents"] < 1:
            raise CommandError("--incidents must be at least 1.")

        def progress(message):
            if options["verbosity"] >= 1:
                self.stdout.write(message)

        try:
            summary = sample_data.generate(
                options["incidents"],
                options["seed"],
                replace=options["replace"],
                progress=progress,
            )
        except sample_data.Refused as error:
            raise CommandError(str(error)) from None
        # generate() leaves fresh statistics for the planner (ANALYZE in its transaction):
        # without them, and with autovacuum slow or off, the first pages plan as if the tables
        # were empty, and are many times slower.
        page_cache.invalidate_all()
        if options["verbosity"] >= 1:
            self.stdout.write(str(summary))
