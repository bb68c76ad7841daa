"""Declarative seeding on PostgreSQL: `manage seed run` of N users from CSV and YAML, against
a raw asyncpg COPY of the same rows and Django's `loaddata` of the same rows, in the same run.

Usage: .venv/bin/python bench/seed_declarative.py [--rows 100000] [--big 1000000]
       [--skip-django] [--skip-yaml]

Each step runs in a fresh scratch database (dropped at the end); every figure is one process
(start-up included) and its peak RSS is that process's own (os.wait4 rusage). Prints:
- CSV and YAML (the `model: User` form, streamed) first runs, their no-op reruns (ratio to
  the first run, target <= 0.2), and a rerun with 1% of the rows changed (each run's
  created/updated/unchanged counts are checked);
- raw COPY of the same rows as a process (read the CSV with the csv module, asyncpg
  copy_records_to_table; target: CSV >= 0.5x it), and the same COPY timed inside its process;
- the same raw COPY that also COPYs one `user.create` audit row per user in its transaction:
  the durable work a seed run must do (issue 14: declarative seeds audit every user), so
  the ratio against it is what is left to the CLI;
- Django `loaddata` of a JSON fixture of the same rows into a matching model, in a throwaway
  project and venv under a temporary directory (pip install django psycopg; skipped with a
  message when that fails; target: YAML >= 10x it);
- peak RSS of the CSV and YAML first runs at --big rows (target <= 150 MiB), 0 to skip.
Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import HELPER, MANAGE, PASSWORD, admin, drop, env_for, new_database

HASH_NOTE = "one precomputed argon2 hash for every row (hashing is not what is measured)"
CHANGED_EVERY = 100  # the changed-rows rerun alters one row in this many


def write_files(directory: Path, rows: int, hashed: str, *, suffix: str = "") -> tuple[Path, Path]:
    """users.csv (a `#` header line) and users.yaml (one `model: User` section)."""
    csv_path = directory / f"users{suffix}.csv"
    yaml_path = directory / f"users{suffix}.yaml"
    with csv_path.open("w", encoding="utf-8") as out:
        out.write("# {model: User, key: email}\nemail,full_name,hashed_password\n")
        for i in range(rows):
            name = f"User {i}" + (" (changed)" if suffix and i % CHANGED_EVERY == 0 else "")
            out.write(f'user{i}@example.com,{name},"{hashed}"\n')
    with yaml_path.open("w", encoding="utf-8") as out:
        out.write("model: User\nkey: email\nrows:\n")
        for i in range(rows):
            name = f"User {i}" + (" (changed)" if suffix and i % CHANGED_EVERY == 0 else "")
            out.write(f"  - {{email: user{i}@example.com, full_name: '{name}', ")
            out.write(f"hashed_password: '{hashed}'}}\n")
    return csv_path, yaml_path


def timed(argv: list[str], env: dict[str, str], cwd: str | None = None) -> dict:
    """Wall seconds, peak RSS (KiB), exit and output of one process."""
    helper = subprocess.run(
        [sys.executable, "-c", HELPER, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    return json.loads(helper.stdout)


def manage_run(url: str, path: Path) -> tuple[float, int, dict]:
    """Wall seconds, peak RSS (KiB) and per-model counts of `manage seed run PATH --json`."""
    report = timed([str(MANAGE), "seed", "run", str(path), "--json"], env_for(url))
    if report["exit"] != 0:
        raise SystemExit(f"manage seed run {path.name} failed with exit {report['exit']}")
    models = json.loads(report["output"])["data"]["models"]
    return report["wall"], report["rss_kib"], {m["model"]: m for m in models}


COPY_SCRIPT = """
import asyncio, csv, json, sys, time
from datetime import datetime, timezone
import asyncpg

# The `user.create` audit rows a seed run writes for these rows (issue 14: one per user),
# the same details manage writes; written by a second COPY when argv[3] is "audit".
DETAILS = json.dumps({"fields": ["email", "full_name"], "via": "seed", "password_changed": True})

async def main(url, path, audit):
    now = datetime.now(timezone.utc)
    with open(path, newline="", encoding="utf-8") as handle:
        handle.readline()
        reader = csv.reader(handle)
        next(reader)
        records = [(e, n, h, True, False, now, now) for e, n, h in reader]
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    async with conn.transaction():
        await conn.copy_records_to_table("users", records=records, columns=(
            "email", "full_name", "hashed_password", "is_active", "is_superuser",
            "created_at", "updated_at"))
        if audit:
            await conn.copy_records_to_table("audit_log", records=[
                (now, "bench", "user.create", r[0], DETAILS) for r in records
            ], columns=("at", "actor", "action", "target", "details"))
    print(time.perf_counter() - started)
    await conn.close()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "audit"))
"""


def raw_copy(url: str, csv_path: Path, *, audit: bool = False) -> tuple[float, float]:
    """(the process's wall seconds, the COPY's own seconds) for a raw asyncpg COPY; with
    `audit`, the same transaction also COPYs one `user.create` audit row per user."""
    argv = [sys.executable, "-c", COPY_SCRIPT, url, str(csv_path), "audit" if audit else "-"]
    report = timed(argv, dict(os.environ))
    if report["exit"] != 0:
        raise SystemExit("raw COPY failed")
    return report["wall"], float(report["output"].strip())


DJANGO_SETTINGS = """
SECRET_KEY = "bench"
INSTALLED_APPS = ["bench_app"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": %(name)r,
             "USER": "postgres", "HOST": "127.0.0.1", "PORT": 5432}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

DJANGO_MODEL = """
from django.db import models

class User(models.Model):  # the columns `manage seed run` writes into `users`
    email = models.CharField(max_length=320, unique=True)
    full_name = models.CharField(max_length=255, null=True)
    hashed_password = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    is_superuser = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "users"
"""


def django_loaddata(scratch: Path, rows: int, hashed: str, names: list[str]) -> float | str:
    """Wall seconds of `django-admin loaddata` of the same rows as a process, or why not."""
    venv = scratch / "django-venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "django>=5.2,<6", "psycopg[binary]"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return f"skipped: cannot install Django ({type(exc).__name__})"
    import uuid

    name = f"seed_bench_django_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    names.append(name)
    project = scratch / "django-project"
    (project / "bench_app").mkdir(parents=True)
    (project / "bench_settings.py").write_text(DJANGO_SETTINGS % {"name": name})
    (project / "bench_app" / "__init__.py").write_text("")
    (project / "bench_app" / "models.py").write_text(DJANGO_MODEL)
    now = "2026-01-01T00:00:00Z"
    with (project / "users.json").open("w", encoding="utf-8") as out:
        out.write("[\n")
        for i in range(rows):
            fields = {
                "email": f"user{i}@example.com",
                "full_name": f"User {i}",
                "hashed_password": hashed,
                "is_active": True,
                "is_superuser": False,
                "created_at": now,
                "updated_at": now,
            }
            row = {"model": "bench_app.user", "pk": i + 1, "fields": fields}
            out.write(json.dumps(row) + ("," if i + 1 < rows else "") + "\n")
        out.write("]\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench_settings", "PYTHONPATH": str(project)}
    admin_bin = str(venv / "bin" / "django-admin")
    for step in (["makemigrations", "bench_app"], ["migrate", "-v", "0"]):
        subprocess.run([admin_bin, *step], env=env, cwd=project, check=True, capture_output=True)
    report = timed([admin_bin, "loaddata", "users.json"], env, cwd=str(project))
    if report["exit"] != 0:
        return f"skipped: loaddata failed with exit {report['exit']}"
    return report["wall"]


def line(label: str, seconds: float, rows: int, extra: str = "") -> None:
    print(f"{label:<34} {seconds:8.2f} s {rows / seconds:>10,.0f} rows/s {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="rows for peak RSS; 0: skip")
    parser.add_argument("--skip-yaml", action="store_true")
    parser.add_argument("--skip-django", action="store_true")
    args = parser.parse_args()
    from app.security import hash_password

    hashed = hash_password(PASSWORD)
    names: list[str] = []
    runs: dict[str, tuple[float, int, dict]] = {}
    big: dict[str, tuple[float, int, dict]] = {}
    django: float | str = "skipped (--skip-django)"
    kinds = ["csv"] + ["yaml"] * (not args.skip_yaml)
    changed_rows = len(range(0, args.rows, CHANGED_EVERY))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(scratch)
            paths = dict(
                zip(("csv", "yaml"), write_files(directory, args.rows, hashed), strict=True)
            )
            changed = dict(
                zip(
                    ("csv", "yaml"),
                    write_files(directory, args.rows, hashed, suffix="-changed"),
                    strict=True,
                )
            )
            for kind in kinds:
                url = new_database(names)
                asyncio.run(admin("CHECKPOINT"))
                runs[kind] = manage_run(url, paths[kind])
                runs[f"{kind} no-op rerun"] = manage_run(url, paths[kind])
                runs[f"{kind} rerun, 1% changed"] = manage_run(url, changed[kind])
                expected = {
                    kind: (args.rows, 0, 0),
                    f"{kind} no-op rerun": (0, 0, args.rows),
                    f"{kind} rerun, 1% changed": (0, changed_rows, args.rows - changed_rows),
                }
                for name, want in expected.items():
                    got = runs[name][2]["User"]
                    if (got["created"], got["updated"], got["unchanged"]) != want:
                        raise SystemExit(f"{name}: counts {got}, expected {want}")
            url = new_database(names)
            asyncio.run(admin("CHECKPOINT"))
            copy_wall, copy_inside = raw_copy(url, paths["csv"])
            url = new_database(names)
            asyncio.run(admin("CHECKPOINT"))
            audited_wall, audited_inside = raw_copy(url, paths["csv"], audit=True)
            if not args.skip_django:
                django = django_loaddata(directory, args.rows, hashed, names)
            drop(names)
            if args.big:
                for path in directory.glob("users*"):
                    path.unlink()
                big_paths = dict(
                    zip(("csv", "yaml"), write_files(directory, args.big, hashed), strict=True)
                )
                for kind in kinds:
                    url = new_database(names)
                    big[kind] = manage_run(url, big_paths[kind])
                    drop(names)
    finally:
        drop(names)
    rows = args.rows
    print(f"rows: {rows:,}; {HASH_NOTE}")
    line("raw asyncpg COPY, as a process", copy_wall, rows, "(baseline)")
    line("raw asyncpg COPY, inside its process", copy_inside, rows)
    line("raw COPY + audit rows, as a process", audited_wall, rows, "(same work as manage)")
    line("raw COPY + audit rows, inside", audited_inside, rows)
    if isinstance(django, float):
        line("Django 5.2 loaddata, as a process", django, rows, "(baseline)")
    else:
        print(f"Django loaddata: {django}")
    for name, (seconds, rss, models) in runs.items():
        counts = models.get("User", {})
        shown = (
            f"{counts.get('created', 0)}/{counts.get('updated', 0)}/{counts.get('unchanged', 0)}"
        )
        line(
            f"manage seed run {name}",
            seconds,
            rows,
            f"peak RSS {rss / 1024:4.0f} MiB  created/updated/unchanged {shown}",
        )
    print("ratios:")
    print(f"  csv / raw COPY (as a process): {copy_wall / runs['csv'][0]:.2f}x (target >= 0.5)")
    print(f"  csv / raw COPY (COPY alone):   {copy_inside / runs['csv'][0]:.2f}x")
    print(f"  csv / raw COPY + audit rows (as a process): {audited_wall / runs['csv'][0]:.2f}x")
    for kind in kinds:
        rerun = runs[f"{kind} no-op rerun"][0] / runs[kind][0]
        print(f"  {kind} no-op rerun / first run: {rerun:.2f} (target <= 0.2)")
    if "yaml" in runs and isinstance(django, float):
        print(f"  yaml / Django loaddata: {django / runs['yaml'][0]:.1f}x (target >= 10)")
    for kind, (seconds, rss, _) in big.items():
        line(
            f"manage seed run {kind} at {args.big:,}",
            seconds,
            args.big,
            f"peak RSS {rss / 1024:4.0f} MiB (target <= 150)",
        )


if __name__ == "__main__":
    main()
