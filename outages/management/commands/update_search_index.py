from django.core.management.base import BaseCommand

from outages import page_cache
from outages.search import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the full-text search index of every incident (run after loading fixtures)."

    def handle(self, *args, **options):
        count = rebuild_index()
        page_cache.invalidate_all()  # stored search results came from the old index
        self.stdout.write(f"Indexed {count} incident{'s' if count != 1 else ''}.")
