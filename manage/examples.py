"""Each help page's examples: copy-pasteable command lines, shown as a block under "Examples:".

Keyed by the command path after `manage` ("" is `manage` itself). A line is at most
EXAMPLE_WIDTH characters so that it never wraps in an 80-column terminal; a longer command
goes on several lines joined by a trailing backslash, as in a shell script. A line starting
with `#` says what the next ones are for. tests/test_help_pages.py renders every page at 80
and 120 columns and parses every example against the real command line.
"""

from __future__ import annotations

# 80 columns, less the page's one-column margin on each side and the block's indent of two.
EXAMPLE_WIDTH = 76

# The first command of each of the three stories the README tells (ops, developers, pipelines):
# `manage` with no arguments shows them.
STORIES: tuple[str, ...] = (
    "# ops: create the first superuser in a container (no terminal, no prompt)",
    "manage users create-superuser --email ops@example.com \\",
    "    --password-file /run/secrets/admin_password --if-exists skip",
    "# developers: run, review and check migrations",
    "manage migrate upgrade",
    "manage migrate review",
    "manage migrate check",
    "# pipelines: load seed data (a second run changes nothing)",
    "manage seed run --dry-run",
    "manage seed run",
)

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": STORIES,
    # users
    "users": (
        "manage users create-superuser --email ops@example.com",
        "manage users list --superusers",
    ),
    "users create-superuser": (
        "# a container step: safe to rerun, asks for nothing when the account exists",
        "manage users create-superuser --email ops@example.com \\",
        "    --password-file /run/secrets/admin_password --if-exists skip",
        "printf '%s\\n' \"$PW\" | manage users create-superuser \\",
        "    --email ops@example.com --password-stdin",
    ),
    "users create": (
        "manage users create --email dev@example.com --role auditor",
        "manage users create --email bot@example.com --generate-password",
    ),
    "users list": (
        "manage users list --superusers",
        "manage users list --search example.com --limit 20",
        "manage users list --all --json > users.json",
    ),
    "users show": ("manage users show ops@example.com",),
    "users set-password": (
        "manage users set-password ops@example.com",
        "manage users set-password ops@example.com --password-file new_password.txt",
    ),
    "users activate": ("manage users activate dev@example.com",),
    "users deactivate": ("manage users deactivate dev@example.com",),
    "users promote": ("manage users promote dev@example.com",),
    "users demote": ("manage users demote dev@example.com",),
    "users delete": ("manage users delete dev@example.com --yes",),
    "users logout-everywhere": ("manage users logout-everywhere dev@example.com",),
    "users permissions": ("manage users permissions dev@example.com",),
    # roles
    "roles": (
        "manage roles create auditor -p roles:read -p audit:read",
        "manage roles grant auditor dev@example.com",
    ),
    "roles create": ('manage roles create auditor -d "Read-only" -p roles:read -p audit:read',),
    "roles list": ("manage roles list",),
    "roles show": ("manage roles show auditor",),
    "roles delete": ("manage roles delete auditor --yes",),
    "roles grant": ("manage roles grant auditor dev@example.com qa@example.com",),
    "roles revoke": ("manage roles revoke auditor dev@example.com",),
    "roles permit": ("manage roles permit auditor roles:read 'audit:*'",),
    "roles forbid": ("manage roles forbid auditor 'audit:*'",),
    "roles export": ("manage roles export roles.yaml",),
    "roles sync": (
        "manage roles sync roles.yaml --dry-run",
        "manage roles sync roles.yaml",
    ),
    # migrate
    "migrate": (
        "manage migrate status",
        "manage migrate upgrade",
        "manage migrate review",
        "manage migrate check",
    ),
    "migrate upgrade": (
        "manage migrate upgrade",
        "manage migrate upgrade +1",
        "manage migrate upgrade --sql > pending.sql",
    ),
    "migrate downgrade": (
        "manage migrate downgrade -1 --yes",
        "manage migrate downgrade -1 --sql",
    ),
    "migrate stamp": ("manage migrate stamp head --yes",),
    "migrate status": (
        "manage migrate status",
        "manage migrate status --check   # exit 1 when not at head",
    ),
    "migrate current": ("manage migrate current",),
    "migrate heads": ("manage migrate heads",),
    "migrate history": (
        "manage migrate history",
        "manage migrate history -r base:head",
    ),
    "migrate make": (
        'manage migrate make -m "add users.nickname"',
        'manage migrate make -m "fill users.nickname" --empty',
    ),
    "migrate check": (
        "manage migrate check",
        "manage migrate check --sql",
    ),
    "migrate sql": ("manage migrate sql base:head --dialect postgresql | squawk",),
    "migrate backfill": (
        "manage migrate backfill users_nickname",
        "manage migrate backfill --all --max-seconds 600",
        "manage migrate backfill --all --dry-run",
    ),
    "migrate review": (
        "manage migrate review",
        "manage migrate review --all --strict",
        "manage migrate review ab12cd: --roundtrip",
    ),
    # db
    "db": (
        "manage db init --wait 60",
        "manage db check",
    ),
    "db init": (
        "FIRST_SUPERUSER_EMAIL=ops@example.com \\",
        "FIRST_SUPERUSER_PASSWORD_FILE=/run/secrets/admin_password \\",
        "    manage db init --wait 60",
    ),
    "db check": (
        "manage db check --wait 30",
        "manage db check && exec uvicorn app.api.main:create_app --factory",
    ),
    "db shell": (
        "# PostgreSQL (psql's options after --)",
        "manage db shell -- -c 'select count(*) from users'",
        "# SQLite, the default (sqlite3 takes the SQL itself)",
        "manage db shell -- 'select count(*) from users'",
    ),
    "db reset": ("manage db reset --yes",),
    # audit
    "audit": ("manage audit list --target ops@example.com",),
    "audit list": (
        "manage audit list",
        "manage audit list --action user.create --limit 10",
        "manage audit list --target ops@example.com --json",
    ),
    # seed
    "seed": (
        "manage seed run --dry-run",
        "manage seed run",
        "manage seed fake users --count 1000",
    ),
    "seed run": (
        "manage seed run --dry-run",
        "manage seed run",
        "ENVIRONMENT=staging manage seed run --set staging",
    ),
    "seed status": ("manage seed status",),
    "seed list": ("manage seed list",),
    "seed dump": ("manage seed dump roles users --output seeds/staging/snapshot.yaml",),
    "seed fake": (
        "manage seed fake users --count 1000 --seed 42",
        "manage seed fake Item --count 100000 --seed 42 \\",
        "    --factory seeds/item-factory.yaml",
    ),
    # config, shell
    "config": ("manage config show",),
    "config show": (
        "manage config show",
        "manage config show --json",
    ),
    "shell": (
        "manage shell",
        'manage shell -c "await users.count_superusers(db)"',
    ),
}
