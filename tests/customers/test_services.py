from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers.models import Customer
from customers.selectors import customer_get, customer_search
from customers.services import customer_create, customer_delete, customer_update
from tests.conftest import Chain


def test_create_tidies_email_and_phone(chain: Chain) -> None:
    customer = customer_create(
        actor=chain.agent,
        name="  Ada Lovelace ",
        email=" Ada@Example.COM ",
        phone="+44 (20) 7946-0018",
    )
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.email, stored.phone) == (
        "Ada Lovelace",
        "ada@example.com",
        "+442079460018",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "phone": "call me"}, "phone"),
        ({"name": "X", "preferred_channel": "pigeon"}, "preferred_channel"),
        ({"name": "X", "tags": "vip"}, "tags"),
        ({"name": "X", "source": "pos"}, "external_id"),
        ({"name": "X", "deleted_at": None}, "deleted_at"),
    ],
)
def test_invalid_customers_are_refused_with_the_field_named(
    chain: Chain, data: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        customer_create(actor=chain.agent, **data)
    assert field in excinfo.value.message_dict
    assert not Customer.objects.exists()


def test_duplicate_external_reference_is_refused_before_the_database(chain: Chain) -> None:
    customer_create(actor=chain.agent, name="A", source="pos", external_id="7")
    with pytest.raises(ValidationError):
        customer_create(actor=chain.agent, name="B", source="pos", external_id="7")
    assert Customer.objects.count() == 1


def test_update_changes_fields_and_keeps_the_rest(chain: Chain) -> None:
    customer = customer_create(actor=chain.agent, name="Bo", email="bo@example.com", tags=["vip"])
    customer_update(
        actor=chain.south_agent,  # customers are chain-wide: any branch may update them
        customer=customer,
        data={"phone": "0049 30 123456", "consent_surveys": True},
    )
    customer.refresh_from_db()
    assert (customer.email, customer.phone, customer.consent_surveys, customer.tags) == (
        "bo@example.com",
        "0049" + "30123456",
        True,
        ["vip"],
    )


def test_inactive_staff_cannot_write_or_read_customers(chain: Chain) -> None:
    chain.agent.is_active = False
    with pytest.raises(PermissionDenied):
        customer_create(actor=chain.agent, name="Nope")
    with pytest.raises(PermissionDenied):
        customer_search(actor=chain.agent, query="Nope")


def test_search_by_name_email_or_phone_digits(chain: Chain) -> None:
    ada = customer_create(
        actor=chain.agent, name="Ada Lovelace", email="ada@example.com", phone="+44 20 7946 0018"
    )
    customer_create(
        actor=chain.agent, name="Alan Turing", email="alan@example.org", phone="+44 161 555 0100"
    )

    def found(query: str) -> list[str]:
        return [c.name for c in customer_search(actor=chain.agent, query=query)]

    assert found("lovel") == ["Ada Lovelace"]
    assert found("EXAMPLE.org") == ["Alan Turing"]
    assert found("7946 0018") == ["Ada Lovelace"]
    assert found("a") == ["Ada Lovelace", "Alan Turing"]
    assert found("   ") == []
    customer_delete(actor=chain.agent, customer=ada)
    assert found("lovel") == []
    with pytest.raises(Customer.DoesNotExist):
        customer_get(actor=chain.agent, customer_id=ada.pk)


def test_a_customer_deleted_meanwhile_is_neither_edited_nor_deleted_twice(
    chain: Chain, django_capture_on_commit_callbacks: object
) -> None:
    """The form was opened before someone else deleted the record: the edit is checked
    against the row under its lock, and a second delete announces nothing new."""
    opened = customer_create(actor=chain.agent, name="Ada")
    customer_delete(actor=chain.agent, customer=Customer.objects.get(pk=opened.pk))
    with pytest.raises(ValidationError):
        customer_update(actor=chain.agent, customer=opened, data={"name": "Ada L."})
    assert Customer.objects.get(pk=opened.pk).name == "Ada"
    deleted_at = Customer.objects.get(pk=opened.pk).deleted_at
    customer_delete(actor=chain.agent, customer=opened)  # the stale copy says "alive"
    assert Customer.objects.get(pk=opened.pk).deleted_at == deleted_at
