"""`manage.py purge_exports`: delete exports that finished over EXPORT_RETENTION_DAYS ago (rows and files)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from annotations.exports.cleanup import exports_purge_expired


class Command(BaseCommand):
    help = (
        "Delete finished exports older than EXPORT_RETENTION_DAYS, with their files; "
        "celery beat does this hourly, and a rerun deletes nothing more."
    )

    def handle(self, *args, **options):
        purged = exports_purge_expired()
        self.stdout.write(f"{purged} exports purged (finished over {settings.EXPORT_RETENTION_DAYS} days ago)")
