"""A large CSV loaded by the direct path (COPY under a savepoint, app/services/seed_direct.py)
is recognised on its rerun like any other: its rows carry the savepoint's xid, which is this
run's own, not another writer's (the fingerprint was silently never recorded: every rerun of
a 100,000-row CSV read every row)."""

from __future__ import annotations

import json

from tests.conftest import fetch
from tests.test_seed_unchanged import HASH, counts, last_run_was_recognised, run, seed_files

ROWS = 100_000  # the size the fault showed at (12,000 rows did not show it); ~10 s


def test_a_rerun_of_a_directly_copied_csv_is_recognised(cli, pg_db_url, tmp_path) -> None:
    lines = [f'u{i}@example.com,User {i},"{HASH}"' for i in range(ROWS)]
    body = "# {model: User, key: email}\nemail,full_name,hashed_password\n" + "\n".join(lines)
    seed_files(tmp_path, users_csv=body + "\n")
    code, data, _ = run(cli, pg_db_url, "base")
    assert code == 0 and counts(data)["User"] == (ROWS, 0, 0)
    # the direct path wrote them: under a savepoint, so not with the run's own xid
    xids = fetch(pg_db_url, "SELECT count(DISTINCT CAST(xmin AS text)) FROM users")
    recorded = fetch(pg_db_url, "SELECT fingerprint FROM seed_history ORDER BY id")
    assert xids == [(1,)] and recorded[-1][0] is not None, recorded
    assert json.loads(recorded[-1][0])["run"]

    code, data, _ = run(cli, pg_db_url, "base")
    assert code == 0 and counts(data)["User"] == (0, 0, ROWS)
    assert last_run_was_recognised(pg_db_url)

    # an edit after it is still seen: the next run reads the rows and puts the value back
    fetch(pg_db_url, "UPDATE users SET full_name = 'edited' WHERE email = 'u7@example.com'")
    code, data, _ = run(cli, pg_db_url, "base")
    assert code == 0 and counts(data)["User"] == (0, 1, ROWS - 1)
    assert not last_run_was_recognised(pg_db_url)
