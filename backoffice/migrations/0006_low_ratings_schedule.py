"""The daily low-ratings e-mail to staff (F-36, F-61), created once; editable in the admin."""

from django.db import migrations

NAME = "Daily low-ratings e-mail"
TASK = "reviews.low_ratings"
DESCRIPTION = "Products whose recent approved reviews average below the threshold; staff e-mail."


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    from django.conf import settings

    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="45",
        hour="7",
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
    dependencies = [("backoffice", "0005_compliance_schedule")]

    operations = [migrations.RunPython(create, remove)]
