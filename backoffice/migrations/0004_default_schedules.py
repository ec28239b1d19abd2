"""The default schedules (F-61), created once; staff edit them in the admin afterwards."""

from django.db import migrations

SCHEDULES = [
    # (name, task, crontab minute, hour, description)
    ("Outbox: re-dispatch stuck messages", "outbox.redispatch", "*", "*",
     "Every minute: messages left pending (broker down) or stuck in sending (worker died)."),
    ("Nightly stock audit", "inventory.stock_audit", "15", "2",
     "Ledger sums against levels, impossible levels, stale allocations; staff e-mailed on findings."),
    ("Daily stock alerts digest", "inventory.stock_alerts", "0", "7",
     "Low stock, out of stock, overstock and slow movers; a digest e-mail to staff."),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    from django.conf import settings

    for name, task, minute, hour, description in SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
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
        ("backoffice", "0003_scheduledrun_webhookendpoint_outboxmessage"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
