from django.contrib.auth.management import create_permissions
from django.db import migrations

# Aliases came after the editorial roles (0003), so neither role could see the alias inlines.
# An alias belongs to its provider, service, region or customer the way a timeline event
# belongs to its incident: both roles add, change, view and remove them (the admin still lets
# only publishers touch the aliases of a row that readers see, as it does the row itself).
CODENAMES = ["add_alias", "change_alias", "view_alias", "delete_alias"]
GROUPS = ["Editors", "Publishers"]


def grant(apps, schema_editor):
    grant_to_both_roles(apps, CODENAMES)


def revoke(apps, schema_editor):
    revoke_from_both_roles(apps, CODENAMES)


# Also used by later migrations that give both roles the permissions of a new model.
def grant_to_both_roles(apps, codenames):
    # Permissions are normally created after all migrations; make sure they exist now.
    # A migration's app configs have no models module, which create_permissions() skips; the
    # one it had is put back, so the project's own registry (tests call this) is left as it was.
    for app_config in apps.get_app_configs():
        had = getattr(app_config, "models_module", None)
        app_config.models_module = had or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had
    for group, permissions in roles_and_permissions(apps, codenames):
        group.permissions.add(*permissions)


def revoke_from_both_roles(apps, codenames):
    for group, permissions in roles_and_permissions(apps, codenames):
        group.permissions.remove(*permissions)


def roles_and_permissions(apps, codenames):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label="outages", codename__in=codenames)
    )
    return [(group, permissions) for group in Group.objects.filter(name__in=GROUPS)]


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0007_aliases"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
