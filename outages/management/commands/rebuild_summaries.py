from django.core.management.base import BaseCommand, CommandError

from outages import page_cache, summaries


class Command(BaseCommand):
    help = (
        "Compute the counts the statistics page and the customer map read anew from every "
        "published incident (every write keeps them current; run after migrating, or to repair "
        "counts written around the site's own write paths). They are derived rows, not content: "
        "no revision is recorded. With --check, only compare them and fail if they differ."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing: list every kept count that differs from its definition.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only if no count is kept yet (a database migrated to them): what `make "
            "migrate` runs, so a deploy does not recount 100,000 incidents each time.",
        )

    def handle(self, *args, **options):
        if options["check"]:
            found = summaries.differences()
            for table, key, kept, live in found[:50]:
                self.stdout.write(f"{table} {key}: kept {kept}, counted {live}")
            if found:
                raise CommandError(
                    f"{len(found)} kept count{'s differ' if len(found) != 1 else ' differs'} "
                    "from the incidents; run rebuild_summaries to repair."
                )
            self.stdout.write("Every kept count equals its definition.")
            return
        if options["if_empty"] and summaries.kept():
            self.stdout.write("The counts are kept already.")
            return
        summaries.rebuild()
        page_cache.invalidate_all()  # pages built from the old counts
        self.stdout.write("Rebuilt the kept counts.")
