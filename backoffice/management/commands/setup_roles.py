"""manage.py setup_roles — create or update the role groups (also done after every migrate)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from backoffice.roles import roles_sync


class Command(BaseCommand):
    help = "Create the role groups and give each exactly its permissions (idempotent)."

    def handle(self, *args, **options) -> None:
        for role, count in roles_sync().items():
            self.stdout.write(f"{role}: {count} permissions")
