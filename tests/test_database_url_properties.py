"""Property: whatever DATABASE_URL holds, a command that reads it answers with exit 0 or 5 and
one line, never 70, and never shows the password; an accepted URL always builds an engine."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.url import SUPPORTED

PASSWORD = "Sekr1t-pw"
keys = st.one_of(st.sampled_from(SUPPORTED), st.text(min_size=1, max_size=12))
values = st.one_of(
    st.sampled_from(["require", "DISABLE", "verify-full", "10", "0", "-c a=b", "read-write"]),
    st.text(max_size=20),
)
queries = st.lists(st.tuples(keys, values), max_size=4)
# What an environment variable can hold: no NUL, no lone surrogate.
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6
)
ports = st.one_of(st.none(), st.integers(-5, 70000).map(str), env_text)


def _url(port: str | None, query: list[tuple[str, str]], userinfo: bool) -> str:
    netloc = "db.example.com" + (f":{port}" if port is not None else "")
    auth = f"ops:{PASSWORD}@" if userinfo else ""
    text = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    text += f"&password={PASSWORD}" if not userinfo else ""
    return f"postgresql://{auth}{netloc}/app?{text}"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(port=ports, query=queries, userinfo=st.booleans())
def test_any_url_is_exit_0_or_5_with_one_line_and_no_password(cli, port, query, userinfo) -> None:
    from db.config import DatabaseSettings, normalize_database_url
    from db.engine import create_engine

    url = _url(port, query, userinfo)
    outcome = cli(["config", "show", "--json"], env={"DATABASE_URL": url})
    assert outcome.exit_code in (0, 5), outcome.stderr
    assert PASSWORD not in outcome.stdout + outcome.stderr
    envelope = json.loads(outcome.stdout)
    if outcome.exit_code == 5:
        (line,) = outcome.stderr.splitlines()
        assert line.startswith("error: invalid setting DATABASE_URL")
        return
    assert envelope["success"] is True
    engine = create_engine(DatabaseSettings(database_url=normalize_database_url(url)))
    # What SQLAlchemy's asyncpg adapter gets: only keywords asyncpg takes, plus the adapter's
    # own prepared_statement_cache_size, which it pops before calling asyncpg.connect.
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert set(kwargs) <= {
        "host",
        "port",
        "user",
        "password",
        "database",
        "prepared_statement_cache_size",
    }
