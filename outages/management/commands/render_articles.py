from django.core.management.base import BaseCommand

from outages.web import articles
from outages.web.views import for_page


class Command(BaseCommand):
    help = (
        "Store the article of every published incident that has none stored by this build of "
        "the code (its incident page then prints it rather than rendering it). Each page stores "
        "its own at its first read after a write; run this after loading or generating many "
        "incidents, or after a deploy, so that first reads are quick too."
    )

    def handle(self, *args, **options):
        stored = articles.fill(for_page)
        self.stdout.write(f"Stored {stored} article{'' if stored == 1 else 's'}.")
