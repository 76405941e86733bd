"""The data product lifecycle table is the single source of truth: every (from, to) pair is checked
through the catalog's transition (the one helper, ``apps.audit.transitions``) on stored products."""

import itertools

import pytest

from apps.audit.models import AuditEvent
from apps.audit.transitions import transition_bulk
from apps.catalog import services
from apps.catalog.choices import DATA_PRODUCT_TRANSITIONS, DataProductStatus
from apps.catalog.models import DataProduct
from apps.core.exceptions import ApplicationError
from tests.accounts.factories import UserFactory
from tests.catalog.factories import DataProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(is_superuser=True, is_staff=True)


def test_every_status_has_a_row():
    assert set(DATA_PRODUCT_TRANSITIONS) == set(DataProductStatus.values)
    assert DATA_PRODUCT_TRANSITIONS[DataProductStatus.RETIRED] == frozenset()


@pytest.mark.parametrize("current,target", list(itertools.product(DataProductStatus.values, repeat=2)))
def test_data_product_transition_allowed_exactly_by_the_table(current, target, admin):
    # given
    product = DataProductFactory(status=current)
    # when / then
    if target in DATA_PRODUCT_TRANSITIONS[current]:
        services._product_transition(product=product, actor=admin, to=target)
        assert DataProduct.objects.get(pk=product.pk).status == target
        event = AuditEvent.objects.filter(object_id=str(product.pk), action=f"data_product.{target}").get()
        assert (event.before, event.after, event.actor) == ({"status": current}, {"status": target}, admin)
    else:
        with pytest.raises(ApplicationError, match="cannot become") as refused:
            services._product_transition(product=product, actor=admin, to=target)
        assert "status" in refused.value.extra
        assert DataProduct.objects.get(pk=product.pk).status == current
        assert not AuditEvent.objects.filter(object_id=str(product.pk), action=f"data_product.{target}").exists()


def test_the_bulk_transition_writes_nothing_when_one_move_is_refused(admin):
    # given: a draft and a retired product
    draft, retired = DataProductFactory(status="draft"), DataProductFactory(status="retired")
    # when: both are to be published
    with pytest.raises(ApplicationError, match=f"{retired.name} is retired; it cannot become published"):
        transition_bulk(
            [draft, retired],
            DataProductStatus.PUBLISHED,
            table=DATA_PRODUCT_TRANSITIONS,
            actor=admin,
            action="data_product.published",
            subject=lambda p: p.name,
        )
    # then: neither moved, nothing audited
    assert set(DataProduct.objects.filter(pk__in=[draft.pk, retired.pk]).values_list("status", flat=True)) == {
        "draft",
        "retired",
    }
    assert not AuditEvent.objects.filter(action="data_product.published").exists()


def test_the_bulk_transition_moves_and_audits_every_row(admin):
    products = [DataProductFactory(status="draft") for _ in range(3)]
    transition_bulk(
        products,
        DataProductStatus.PUBLISHED,
        table=DATA_PRODUCT_TRANSITIONS,
        actor=admin,
        action="data_product.published",
        message="Launch.",
    )
    assert set(DataProduct.objects.filter(pk__in=[p.pk for p in products]).values_list("status", flat=True)) == {
        "published"
    }
    events = AuditEvent.objects.filter(action="data_product.published")
    assert sorted(events.values_list("object_id", flat=True)) == sorted(str(p.pk) for p in products)
    assert {(e.message, e.actor_id) for e in events} == {("Launch.", admin.pk)}


def test_a_status_change_through_update_is_a_checked_transition(admin):
    # given: a retired product (the admin edits it through data_product_update)
    product = DataProductFactory(status="retired")
    product.status = DataProductStatus.PUBLISHED  # what the admin form does before saving
    # when / then
    with pytest.raises(ApplicationError, match="cannot become"):
        services.data_product_update(product=product, actor=admin, status=DataProductStatus.PUBLISHED)
    draft = DataProductFactory(status="draft")
    services.data_product_update(product=draft, actor=admin, status=DataProductStatus.PUBLISHED, summary="New.")
    assert DataProduct.objects.filter(pk=draft.pk).values_list("status", "summary").get() == ("published", "New.")
    assert AuditEvent.objects.filter(object_id=str(draft.pk), action="data_product.published").exists()


def test_the_admin_form_refuses_a_status_the_table_does_not_allow():
    from django.core.exceptions import ValidationError

    from apps.catalog.admin import DataProductAdminForm

    form = DataProductAdminForm(instance=DataProductFactory(status="retired"))
    form.cleaned_data = {"status": DataProductStatus.PUBLISHED}
    with pytest.raises(ValidationError, match="is retired; it cannot become published"):
        form.clean_status()
    form.cleaned_data = {"status": DataProductStatus.RETIRED}
    assert form.clean_status() == DataProductStatus.RETIRED
