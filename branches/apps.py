from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BranchesConfig(AppConfig):
    name = "branches"
    verbose_name = _("Regions, branches and staff")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, post_save

        from branches.models import Branch, User
        from branches.roles import role_groups_sync, staff_role_group_sync
        from common.memo import invalidate_on_change

        # Not limited to this app's signal: the permissions of apps migrated after this
        # one only exist once their own post_migrate has run.
        post_migrate.connect(role_groups_sync, dispatch_uid="branches.role_groups_sync")
        post_save.connect(staff_role_group_sync, sender=User, dispatch_uid="branches.role_group")
        invalidate_on_change(Branch)  # the branch directory (branches.directory)
