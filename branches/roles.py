"""Model permissions per staff role, kept in one Django group per role.

Object-level reach (which branches) is branches.access; these groups only say
which kinds of record a role may view or edit in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from branches.models import Role, User

_STAFF_PERMISSIONS = [
    "branches.view_region",
    "branches.view_branch",
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "interactions.view_interaction",
    "interactions.add_interaction",
    "interactions.change_interaction",
    "interactions.view_servicecycle",
    "interactions.view_moment",
    "interactions.view_checkin",
    "consistency.view_flag",
    "consistency.view_rollup",
    "consistency.view_standard",
    "consistency.view_target",
    "consistency.view_consistencyindex",
    "feedback.view_surveyinvitation",
    "feedback.view_feedbackresponse",
    "feedback.view_followup",
]
_MANAGER_PERMISSIONS = [*_STAFF_PERMISSIONS, "interactions.delete_interaction"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: _STAFF_PERMISSIONS,
    Role.BRANCH_MANAGER: _MANAGER_PERMISSIONS,
    Role.REGIONAL_MANAGER: _MANAGER_PERMISSIONS,
    Role.ADMIN: [
        *_MANAGER_PERMISSIONS,
        *(
            f"{app}.{action}_{model}"
            for app, model in [
                ("branches", "region"),
                ("branches", "branch"),
                ("branches", "user"),
                ("customers", "customer"),
                ("interactions", "servicecycle"),
                ("interactions", "moment"),
                ("consistency", "standard"),
                ("consistency", "target"),
                ("feedback", "surveyrule"),
            ]
            for action in ("view", "add", "change", "delete")
        ),
    ],
}


def role_group_name(role: str) -> str:
    return f"role:{role}"


def role_groups_sync(**kwargs: Any) -> None:
    """Create or refresh one group per role (runs after every migrate)."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role_group_name(role))
        perms = []
        for dotted in set(codenames):
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


def staff_role_group_sync(sender: type[User], instance: User, **kwargs: Any) -> None:
    """Keep a staff member in exactly the group of their role (post_save of User)."""
    if kwargs.get("raw"):
        return
    role_groups = Group.objects.filter(name__startswith="role:")
    current = set(instance.groups.filter(pk__in=role_groups).values_list("name", flat=True))
    wanted = role_group_name(instance.role)
    if current == {wanted}:
        return
    instance.groups.remove(*role_groups.exclude(name=wanted))
    group = role_groups.filter(name=wanted).first()
    if group is not None:
        instance.groups.add(group)
