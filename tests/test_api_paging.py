"""Lists are paged: /admin/users (limit, offset, total) and `users list` (50 by default,
--all streams every account in batches)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from tests.api_support import insert_user, password_hash
from tests.conftest import fetch
from tests.test_api import build_settings, call_api, login


def add_users(db_url: str, count: int) -> None:
    """`count` accounts user0000@example.com... in one INSERT (ids in that order)."""
    now = datetime.now(UTC)
    rows = ", ".join(
        f"('user{i:04d}@example.com', :h, :now, :now, 'Name {i}')" for i in range(count)
    )
    fetch(
        db_url,
        f"INSERT INTO users (email, hashed_password, created_at, updated_at, full_name) "
        f"VALUES {rows}",
        {"h": password_hash(), "now": now},
    )


def admin_get(settings, *paths: str) -> list[httpx.Response]:
    async def go(client: httpx.AsyncClient) -> list[httpx.Response]:
        token = (await login(client, "root@example.com")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        return [await client.get(path, headers=headers) for path in paths]

    return call_api(settings, go)


def test_admin_users_is_paged_with_a_default_a_maximum_and_a_total(db_url, monkeypatch) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    add_users(db_url, 120)
    default, page, last, beyond = admin_get(
        build_settings(monkeypatch, db_url),
        "/admin/users",
        "/admin/users?limit=10&offset=5",
        "/admin/users?limit=500&offset=100",
        "/admin/users?offset=1000",
    )

    body = default.json()["data"]
    assert (len(body["items"]), body["total"], body["limit"], body["offset"]) == (50, 121, 50, 0)
    assert body["items"][0]["email"] == "root@example.com"
    emails = [u["email"] for u in page.json()["data"]["items"]]
    assert emails == [f"user{i:04d}@example.com" for i in range(4, 14)]
    assert len(last.json()["data"]["items"]) == 21
    assert beyond.json()["data"] == {"items": [], "total": 121, "limit": 50, "offset": 1000}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "limit=-1", "offset=-1", "limit=abc", "offset=" + "9" * 40]
)
def test_a_page_outside_the_limits_is_a_422_envelope(db_url, monkeypatch, query) -> None:
    insert_user(db_url, "root@example.com", superuser=True)
    [response] = admin_get(build_settings(monkeypatch, db_url), f"/admin/users?{query}")
    assert response.status_code == 422
    assert response.json()["error_code"] == "INVALID_INPUT"


def test_users_list_shows_50_by_default_and_says_how_many_more(cli, db_url) -> None:
    add_users(db_url, 60)
    first = cli(["users", "list", "--json"], db=db_url)
    second = cli(["users", "list", "--json", "--offset", "50", "--limit", "20"], db=db_url)

    assert first.exit_code == 0, first.stderr
    assert len(json.loads(first.stdout)["data"]) == 50
    assert "10 more (accounts 1-50 of 60 shown); use --offset 50 for the next page" in first.stderr
    emails = [u["email"] for u in json.loads(second.stdout)["data"]]
    assert emails == [f"user{i:04d}@example.com" for i in range(50, 60)]
    assert second.stderr == ""


def test_an_offset_past_the_end_says_how_many_match_instead_of_a_bare_no_users(cli, db_url) -> None:
    add_users(db_url, 5)
    table = cli(["users", "list", "--offset", "1000"], db=db_url)
    document = cli(["users", "list", "--offset", "1000", "--json"], db=db_url)
    nothing = cli(["users", "list", "--offset", "1000", "--search", "nobody"], db=db_url)

    warning = "warning: --offset 1000 is past the end: 5 matching in all\n"
    assert (table.exit_code, table.stdout, table.stderr) == (0, "no users\n", warning)
    assert json.loads(document.stdout)["data"] == []
    assert document.stderr == warning
    assert (nothing.stdout, nothing.stderr) == ("no users\n", "")  # nothing matches at all


def test_users_list_all_streams_every_account_as_one_json_document(manage_proc, db_url) -> None:
    add_users(db_url, 1234)  # more than two batches
    outcome = manage_proc(["users", "list", "--all", "--json"], db=db_url)

    assert outcome.exit_code == 0, outcome.stderr
    document = json.loads(outcome.stdout)
    assert document["success"] is True
    assert [u["email"] for u in document["data"]] == [
        f"user{i:04d}@example.com" for i in range(1234)
    ]
    assert (document["message"], document["error_code"]) == (None, None)


def test_users_list_all_for_people_is_one_line_per_account_with_data_as_text(
    manage_proc, db_url
) -> None:
    add_users(db_url, 3)
    fetch(db_url, "UPDATE users SET full_name = :n WHERE id = 2", {"n": "[red]Eve\tx\x1b[2J"})
    outcome = manage_proc(["users", "list", "--all", "--superusers"], db=db_url)
    every = manage_proc(["users", "list", "--all"], db=db_url)

    assert outcome.stdout == "id\temail\tname\tactive\tsuperuser\troles\tcreated\n"
    lines = every.stdout.splitlines()
    assert len(lines) == 4
    assert lines[2].split("\t")[:3] == ["2", "user0001@example.com", "[red]Eve\\tx\\x1b[2J"]


def test_users_list_all_with_limit_is_a_usage_error(cli, db_url) -> None:
    outcome = cli(["users", "list", "--all", "--limit", "5"], db=db_url)
    assert outcome.exit_code == 2
    assert "--all cannot be combined with --limit or --offset" in outcome.stderr
