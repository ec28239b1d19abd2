"""The action checkbox written directly is the HTML Django's widget writes."""

from __future__ import annotations

import pytest
from django.contrib import admin

from backoffice.admin_list import FastRowsMixin
from catalog.models import Product
from orders.models import Order

from ..factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("title", ["Linen shirt", 'Tea "&" <b>cups</b>', "西湖龙井"])
def test_the_checkbox_is_the_one_django_renders(title):
    product = ProductFactory(title=title)
    plain = admin.ModelAdmin(Product, admin.site)
    assert FastRowsMixin.action_checkbox(plain, product) == plain.action_checkbox(product)


def test_the_big_changelists_use_it():
    for model in (Product, Order):
        assert isinstance(admin.site._registry[model], FastRowsMixin)
