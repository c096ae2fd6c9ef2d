"""`manage.py ensure_admin`: create the first administrator when no user exists yet."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create user 'admin' when the database has no user; prints its password once."

    def handle(self, *args, **options):
        users = get_user_model().objects
        if users.exists():
            return
        password = settings.VISAGES_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        users.create_superuser("admin", email="", password=password)
        self.stdout.write(f"Created user 'admin' with password: {password}")
