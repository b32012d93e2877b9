from django.core.management.base import BaseCommand, CommandError

from outages.interchange.syncing import SyncFailed, sync
from outages.management.commands.sync_status_page import write_report
from outages.models import StatusPage


class Command(BaseCommand):
    help = (
        "Sync every enabled status page configured in the admin, one after another; a page "
        "that fails does not stop the others. Exits with status 1 if any failed."
    )

    def handle(self, *args, **options):
        pages = StatusPage.objects.filter(enabled=True).select_related("provider")
        failed = 0
        for page in pages:
            try:
                report = sync(page.provider.slug, page.format, page.url, page=page)
            except SyncFailed as failure:
                failed += 1
                self.stderr.write(f"Failed: {failure}")
                continue
            write_report(self.stdout, report, options["verbosity"] - 1)
        if failed:
            raise CommandError(f"{failed} of {len(pages)} status pages failed; see above.")
