"""Every page and export asks branches.access: nothing of another branch leaks."""

from __future__ import annotations

import pytest
from django.test import Client

from consistency.models import Case, Flag
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db

PAGES = [
    "/", "/log/", "/walk-ins/", "/customers/", "/interactions/", "/comparison/", "/funnel/",
    "/flags/", "/cases/", "/branches/eas-04/",
]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_an_agent_cannot_reach_another_branch(demo: dict) -> None:
    agent = signed_in("agent.cen-02.1")
    other = Flag.objects.filter(branch__code="eas-04").first()
    other_case = Case.objects.filter(branch__code="eas-04").first()
    assert other is not None
    assert other_case is not None
    for path in [
        "/branches/eas-04/",
        "/branches/eas-04/?format=csv",
        "/interactions/?branch=eas-04",
        "/interactions/?branch=eas-04&format=csv",
        "/walk-ins/?branch=eas-04",
        f"/flags/{other.pk}/",
        f"/cases/{other_case.pk}/",
        f"/cases/{other_case.pk}/?format=csv",
    ]:
        response = agent.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text, path
        assert "eas-04" not in response.text, path
    assert agent.post(f"/cases/{other_case.pk}/acknowledge/", {"note": "x"}).status_code == 404
    own = Case.objects.filter(branch__code="cen-02").first()
    assert own is not None
    refused = agent.post(f"/cases/{own.pk}/acknowledge/", {"note": "x"})
    assert refused.status_code == 403
    assert "Only managers work cases." in refused.text
    assert agent.get("/flags/?branch=eas-04").status_code == 400  # not a branch they may pick
    assert agent.get("/cases/?branch=eas-04").status_code == 400


def test_exports_hold_only_the_callers_branches(demo: dict) -> None:
    agent = signed_in("agent.cen-02.1")
    for path in [
        "/interactions/?format=csv",
        "/flags/?format=csv&status=",
        "/cases/?format=csv&status=",
        "/comparison/?format=csv",
    ]:
        response = agent.get(path)
        assert response.status_code == 200
        body = response.getvalue().decode()
        assert "cen-02" in body, path
        assert "eas-04" not in body, path
        assert "nor-05" not in body, path


def test_agents_see_cases_but_cannot_move_them(demo: dict) -> None:
    agent = signed_in("agent.eas-04.1")
    case = Case.objects.filter(branch__code="eas-04", status="open").first()
    assert case is not None
    page = agent.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert "Work this case" not in page.text
    assert agent.post(f"/cases/{case.pk}/acknowledge/", {}).status_code == 403
    case.refresh_from_db()
    assert case.status == "open"


def test_a_regional_manager_sees_only_their_region(demo: dict) -> None:
    manager = signed_in("rm.central")
    assert manager.get("/branches/eas-04/").status_code == 404
    page = manager.get("/comparison/")
    assert "cen-02" in page.text
    assert "eas-04" not in page.text
    assert manager.get("/comparison/?region=east").status_code == 400
