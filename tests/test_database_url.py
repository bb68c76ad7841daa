"""Every documented form of DATABASE_URL works or is exit 5 naming what is wrong, and a
password in it is never shown: a corpus of provider connection strings (tests/database_urls),
then real connections to PostgreSQL with the translated parameters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import fetch, pg_url

CORPUS = Path(__file__).resolve().parent / "database_urls" / "providers.txt"


def corpus() -> list[tuple[str, str, str]]:
    cases = []
    for line in CORPUS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            verdict, url, source = (part.strip() for part in line.split(" | "))
            cases.append((verdict, url, source))
    return cases


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CA certificate (openssl) and client files that exist."""
    from tests.test_database_url_tls import self_signed

    folder = tmp_path_factory.mktemp("certs")
    cert, key = self_signed(folder, "ca", "corpus CA")
    cert.rename(folder / "ca.pem")
    key.rename(folder / "client.key")
    shutil.copyfile(folder / "ca.pem", folder / "client.crt")
    (folder / "root.crl").write_text("")
    return folder


def _show(cli, url: str):
    return cli(["config", "show", "--json"], env={"DATABASE_URL": url})


@pytest.mark.parametrize(("verdict", "url", "source"), corpus(), ids=[c[2] for c in corpus()])
def test_each_provider_form_is_accepted_or_exit_5_naming_the_problem(
    cli, certs, verdict, url, source, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt
    for name in ("PGSSLMODE", "PGSSLROOTCERT"):
        monkeypatch.delenv(name, raising=False)
    url = url.replace("{certs}", str(certs))
    if verdict == "ok":
        shown = _show(cli, url)
        assert shown.exit_code == 0, shown.stderr
        rows = {row["name"]: row for row in json.loads(shown.stdout)["data"]}
        value = rows["DATABASE_URL"]["value"]
        host_and_path = url.split("?", 1)[0].rsplit("@", 1)[-1].split("://")[-1]
        assert host_and_path in value
        for secret in ("p4ssw0rd", "Xy12", "AbC123dEf", "S3cret", "AVNS_", "YOUR-PASSWORD"):
            assert secret not in value
        assert ":pw@" not in value and "password=pw" not in value
        return
    outcome = cli(["users", "list", "--json"], env={"DATABASE_URL": url})
    expected = verdict.removeprefix("5 ")
    assert outcome.exit_code == 5, (outcome.exit_code, outcome.stderr)
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid setting DATABASE_URL"), lines
    assert expected in lines[0]
    envelope = json.loads(outcome.stdout)
    assert (envelope["success"], envelope["error_code"]) == (False, "INVALID_INPUT")
    for text in (outcome.stderr, outcome.stdout):
        for secret in ("p4ssw0rd", "S3cret", "AbC123dEf", "AVNS_pw"):
            assert secret not in text


def _local(query: str, database: str) -> str:
    return f"{pg_url(database)}?{query}"


@pytest.mark.parametrize(
    "query",
    [
        "sslmode=DISABLE",
        "sslmode=prefer",
        "connect_timeout=10",
        "application_name=corpus-check",
        "options=-c%20statement_timeout%3D4321",
        "target_session_attrs=read-write",
        "channel_binding=prefer",
    ],
)
def test_translated_parameters_connect_to_a_real_server(cli, pg_db_url, query) -> None:
    url = _local(query, pg_db_url.rsplit("/", 1)[1])
    outcome = cli(["users", "list", "--json"], env={"DATABASE_URL": url})
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["data"] == []


def test_options_and_application_name_reach_the_session(pg_db_url) -> None:
    """What the server says about our own session: the settings arrived."""
    url = _local(
        "application_name=corpus-check&options=-c%20statement_timeout%3D4321",
        pg_db_url.rsplit("/", 1)[1],
    )
    rows = fetch(
        url, "SELECT current_setting('application_name'), current_setting('statement_timeout')"
    )
    assert rows == [("corpus-check", "4321ms")]


def test_sslmode_require_against_a_server_without_tls_keeps_the_drivers_reason(
    cli, pg_db_url
) -> None:
    url = _local("sslmode=require", pg_db_url.rsplit("/", 1)[1])
    (setting,) = fetch(pg_db_url, "SHOW ssl")[0]
    if setting == "on":
        pytest.skip("this PostgreSQL has TLS on")
    outcome = cli(["users", "list"], env={"DATABASE_URL": url})
    assert outcome.exit_code == 6
    assert "rejected SSL upgrade" in outcome.stderr
    assert "ConnectionError" not in outcome.stderr


def test_a_password_is_masked_wherever_it_is_in_every_message(cli, tmp_path) -> None:
    url = "postgresql://ops:hunter2-user@127.0.0.1:1/app?password=hunter2-query&sslmode=bogus"
    for args in (["users", "list", "--json"], ["config", "show", "--json"], ["db", "check"]):
        outcome = cli(args, env={"DATABASE_URL": url})
        assert outcome.exit_code == 5, (args, outcome.stderr)
        assert "hunter2" not in outcome.stdout + outcome.stderr
    unreachable = "postgresql://ops:hunter2-user@127.0.0.1:1/app?password=hunter2-query"
    outcome = cli(["users", "list", "--json"], env={"DATABASE_URL": unreachable})
    assert outcome.exit_code == 6, outcome.stderr
    assert "hunter2" not in outcome.stdout + outcome.stderr
    assert "ops:***@127.0.0.1:1/app?password=***" in outcome.stderr


@pytest.mark.parametrize(
    "query",
    [
        "password=hunter2%23a#hunter2-tail",  # SQLAlchemy keeps a "#" in a query value
        "pass%77ord=hunter2-encoded-key",  # the name is percent-decoded: it IS the password
        "sslmode=prefer&PASSWORD=hunter2-caps",
        "ssl%70assword=hunter2-ssl",
        "password=hunter2+plus",
    ],
)
def test_a_query_password_is_masked_however_its_parameter_is_written(cli, query) -> None:
    """The mask reads the query the way SQLAlchemy does (percent-decoded names, values up to
    the next '&' only), so no spelling of `password=` shows its value."""
    from sqlalchemy.engine import make_url

    from db.url import mask

    url = f"postgresql://ops@127.0.0.1:1/app?{query}"
    secret = next(v for k, v in make_url(url).query.items() if "password" in k.lower())
    assert "hunter2" in secret  # the test's premise: SQLAlchemy reads it as a password
    assert "hunter2" not in mask(url)
    for args in (["config", "show", "--json"], ["db", "check"], ["users", "list", "--json"]):
        outcome = cli(args, env={"DATABASE_URL": url})
        assert outcome.exit_code in (0, 5, 6), (args, outcome.stderr)
        assert "hunter2" not in outcome.stdout + outcome.stderr, (args, outcome.stderr)
