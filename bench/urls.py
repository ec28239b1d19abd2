"""URLs for the benchmarks: the real admin, and a plain-ModelAdmin baseline of the same models."""

from django.contrib import admin
from django.urls import include, path

from catalog.models import Product, Variant
from inventory.models import Movement, Stock
from orders.models import Order

baseline_site = admin.AdminSite(name="baseline")


class PlainAdmin(admin.ModelAdmin):
    """What `admin.site.register(Model)` gives: full COUNT(*), __str__ per row."""


for model in (Product, Variant, Stock, Movement, Order):
    # The same filters and search as ours, so the same URLs work on both; nothing else.
    ours = admin.site._registry[model]
    baseline_site.register(
        model,
        type(
            f"Plain{model.__name__}Admin",
            (PlainAdmin,),
            {
                "list_filter": ours.list_filter,
                "search_fields": ours.search_fields,
                "list_per_page": ours.list_per_page,
            },
        ),
    )

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("baseline/", baseline_site.urls),
]
