"""The cycle-count schedule (F-16, F-61), created once; editable in the admin."""

from django.db import migrations

SCHEDULES = [
    # (name, task, minute, hour, day of week, description)
    ("Daily ABC classes and cycle counts", "warehouse.cycle_counts", "30", "5", "*",
     "Reclassifies every SKU by shipment value (A/B/C per warehouse) and plans the cycle "
     "counts that are due: A monthly, B quarterly, C yearly (CYCLE_COUNT_DAYS_A/B/C)."),
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
    dependencies = [
        ("warehouse", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
