"""Replenishment and scorecard digests (F-24, F-23, F-61), created once; editable in the admin."""

from django.db import migrations

SCHEDULES = [
    # (name, task, minute, hour, day of week, description)
    ("Daily replenishment digest", "suppliers.replenishment", "0", "6", "*",
     "Stock rows at or below their reorder point, per preferred supplier; staff e-mail."),
    ("Weekly supplier scorecards", "suppliers.scorecards", "0", "8", "1",
     "On-time, fill, rejection, price variance and return rates over 30 days; staff e-mail."),
]  # fmt: skip


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    from django.conf import settings

    for name, task, minute, hour, day_of_week, description in SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week=day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.create(
            name=name, task=task, crontab=crontab, description=description, enabled=True
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0006_low_ratings_schedule")]

    operations = [migrations.RunPython(create, remove)]
