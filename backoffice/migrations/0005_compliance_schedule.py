"""The daily listing compliance check (F-40, F-61), created once; editable in the admin."""

from django.db import migrations

NAME = "Daily listing compliance check"
TASK = "catalog.compliance_check"
DESCRIPTION = (
    "Flags products with missing title, description, image, price or category, a price below "
    "cost, a compare-at price below the price, or a banned word; resolves fixed flags."
)


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    from django.conf import settings

    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="5",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.create(
        name=NAME, task=TASK, crontab=crontab, description=DESCRIPTION, enabled=True
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0004_default_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
