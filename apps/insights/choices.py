from django.db import models


class UsageEventKind(models.TextChoices):
    PRODUCT_VIEW = "product_view", "Data product viewed"
    SEARCH = "search", "Search"
