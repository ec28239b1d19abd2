"""Quick start in one command: migrate, load the demo data, print the login, serve the admin."""

from __future__ import annotations

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand

from .seed_demo import DEMO_PASSWORD, DEMO_USERNAME

ADDRESS = "127.0.0.1:8000"


class Command(BaseCommand):
    help = (
        "Migrate the database, load the demo data (once) and serve the admin at "
        f"http://{ADDRESS}/admin/."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--noreload",
            action="store_true",
            help="Serve without the auto-reloader (passed on to runserver).",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Migrate and load the demo data, then stop instead of serving.",
        )
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help=f"Password of the demo superuser if it is created (default {DEMO_PASSWORD!r}).",
        )

    def handle(self, *args, noreload: bool, no_serve: bool, password: str, **options) -> None:
        # runserver's auto-reloader runs this command again in a child process
        # (RUN_MAIN=true); the parent already migrated and seeded.
        if os.environ.get("RUN_MAIN") != "true":
            call_command("migrate", interactive=False, verbosity=1, stdout=self.stdout)
            call_command("seed_demo", password=password, stdout=self.stdout)
            self.stdout.write("")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo login: {DEMO_USERNAME} / {password} at http://{ADDRESS}/admin/"
                )
            )
            self.stdout.write("")
        if no_serve:
            return
        call_command("runserver", ADDRESS, use_reloader=not noreload)
