"""The Django admin: every model has a page, and non-superusers see only their branches."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from branches.models import Role
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory, MomentFactory, UserFactory

MODELS = [
    "branches/region",
    "branches/branch",
    "branches/user",
    "customers/customer",
    "interactions/interaction",
    "interactions/servicecycle",
    "interactions/moment",
]


@pytest.fixture
def data(chain: Chain) -> dict[str, Interaction]:
    MomentFactory.create()
    CustomerFactory.create(name="Zed Chainwide")
    return {
        "north": InteractionFactory.create(branch=chain.north_a, topic="north-topic"),
        "south": InteractionFactory.create(branch=chain.south_a, topic="south-topic"),
    }


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_working_list_add_and_search_pages(
    chain: Chain, data: dict[str, Interaction], model: str
) -> None:
    client = signed_in(UserFactory.create(is_superuser=True))
    assert client.get(f"/admin/{model}/").status_code == 200
    assert client.get(f"/admin/{model}/?q=zzz").status_code == 200
    assert client.get(f"/admin/{model}/add/").status_code == 200


def test_agent_sees_only_their_branch_interactions(
    chain: Chain, data: dict[str, Interaction]
) -> None:
    client = signed_in(chain.agent)
    response = client.get(reverse("admin:interactions_interaction_changelist"))
    shown = {row.pk for row in response.context["cl"].result_list}
    assert shown == {data["north"].pk}


def test_agent_cannot_open_another_branch_interaction(
    chain: Chain, data: dict[str, Interaction]
) -> None:
    client = signed_in(chain.agent)
    url = reverse("admin:interactions_interaction_change", args=[data["south"].pk])
    response = client.get(url, follow=True)
    assert "south-topic" not in response.content.decode()
    assert response.redirect_chain  # sent back to the index: "doesn't exist"
    assert client.post(url, {"topic": "hijacked"}).status_code in {302, 403, 404}
    data["south"].refresh_from_db()
    assert data["south"].topic == "south-topic"


def test_branch_filter_lists_only_visible_branches(
    chain: Chain, data: dict[str, Interaction]
) -> None:
    client = signed_in(chain.agent)
    page = client.get(reverse("admin:interactions_interaction_changelist")).content.decode()
    assert chain.north_a.name in page
    assert chain.south_a.name not in page


def test_agent_cannot_manage_users_or_branches(chain: Chain) -> None:
    client = signed_in(chain.agent)
    assert client.get(reverse("admin:branches_user_changelist")).status_code == 403
    assert client.get(reverse("admin:branches_branch_add")).status_code == 403


def test_regional_manager_sees_their_region_only(
    chain: Chain, data: dict[str, Interaction]
) -> None:
    client = signed_in(chain.regional)
    response = client.get(reverse("admin:branches_branch_changelist"))
    assert {b.code for b in response.context["cl"].result_list} == {"n-a", "n-b", "n-closed"}


def test_deleting_in_the_admin_is_a_soft_delete(chain: Chain, data: dict[str, Interaction]) -> None:
    client = signed_in(chain.manager)
    chain.manager.branches.add(chain.north_a)
    url = reverse("admin:interactions_interaction_delete", args=[data["north"].pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    data["north"].refresh_from_db()
    assert data["north"].deleted_at is not None


def test_role_decides_the_permission_group(chain: Chain) -> None:
    assert list(chain.agent.groups.values_list("name", flat=True)) == ["role:agent"]
    chain.agent.role = Role.BRANCH_MANAGER
    chain.agent.save()
    assert list(chain.agent.groups.values_list("name", flat=True)) == ["role:branch_manager"]


def test_hq_admin_cannot_grant_superuser(chain: Chain) -> None:
    client = signed_in(chain.admin)
    url = reverse("admin:branches_user_change", args=[chain.agent.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "role" in form.fields


def test_admin_add_form_shows_model_validation_errors(chain: Chain) -> None:
    client = signed_in(chain.agent)
    response = client.post(
        reverse("admin:interactions_interaction_add"),
        {
            "branch": chain.north_a.pk,
            "channel": "email",
            "direction": "inbound",
            "occurred_at_0": "2099-01-01",
            "occurred_at_1": "10:00:00",
            "outcome": "abandoned",
            "csat": "9",
        },
    )
    assert response.status_code == 200  # the form again, with errors, nothing saved
    errors = response.context["adminform"].form.errors
    assert {"occurred_at", "outcome", "csat"} <= set(errors)
    assert not Interaction.objects.filter(branch=chain.north_a, channel="email").exists()


# English plurals a bare "s" gets wrong: "indexs", "statuss", "batchs", "deliverys".
MISSPELT_PLURAL = re.compile(r"(?:x|s|ch|sh|[^aeiou]y)s$", re.IGNORECASE)


def test_admin_index_names_every_model_in_a_proper_plural(db: None) -> None:
    page = signed_in(UserFactory.create(is_superuser=True)).get("/admin/").content.decode()
    labels = re.findall(r'<th scope="row" id="[^"]*">\s*<a href="[^"]*"[^>]*>([^<]+)</a>', page)
    assert len(labels) >= 20  # every registered model is listed
    assert "Consistency indices" in labels
    assert [label for label in labels if MISSPELT_PLURAL.search(label)] == []
