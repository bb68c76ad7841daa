"""A backfill stopped by a signal resumes exactly: no batch lost, none applied twice.

Real `manage` subprocesses on SQLite and PostgreSQL. The batch body (bf_label in
tests/migrations_fixtures/backfill/) is not idempotent (label_hits = label_hits + 1) and sleeps
inside its transaction after its update, so the signal usually lands mid-batch: that batch must
roll back together with its progress row.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time

import pytest

from tests.conftest import MANAGE_BIN, fetch, manage_env
from tests.test_migrate_backfill import progress, scripts, seed_items  # noqa: F401 (fixture)

ROWS = 200  # 40 batches of 5


def _labels(url: str) -> list[tuple]:
    return fetch(url, "SELECT id, label, label_hits FROM bf_items ORDER BY id")


def _expected() -> list[tuple]:
    return [(i, f"item-c{i:05d}", 1) for i in range(1, ROWS + 1)]


@pytest.fixture
def declared_200(cli, db_url: str, scripts: dict[str, str]) -> str:  # noqa: F811
    assert cli(["migrate", "upgrade", "bf000001"], db=db_url, env=scripts).exit_code == 0
    seed_items(db_url, ROWS)
    assert cli(["migrate", "upgrade", "bf000002"], db=db_url, env=scripts).exit_code == 0
    return db_url


def _start(
    url: str,
    scripts: dict[str, str],  # noqa: F811
    tmp_path,
    sleep: str = "0.04",
) -> subprocess.Popen:
    env = manage_env(url, BF_TEST_SLEEP=sleep, **scripts)
    return subprocess.Popen(
        [str(MANAGE_BIN), "migrate", "backfill", "bf_label"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_batches(url: str, proc: subprocess.Popen, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = progress(url, "bf_label")
        if row is not None and row[3] >= at_least:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    pytest.fail(f"no {at_least} batches within 60 s")


@pytest.mark.parametrize(
    ("signum", "exit_codes"),
    [
        # The runner turns SIGTERM into a cancellation (issue 11a): the batch in flight rolls
        # back, and the message says which batches stayed.
        (signal.SIGTERM, {143}),
        (signal.SIGINT, {130}),
        (signal.SIGKILL, {-signal.SIGKILL}),  # a crash: no handler runs at all
    ],
    ids=["SIGTERM", "SIGINT", "SIGKILL"],
)
def test_a_signal_at_a_random_batch_then_a_rerun_applies_every_batch_exactly_once(
    declared_200: str,
    scripts: dict[str, str],  # noqa: F811
    tmp_path,
    signum: int,
    exit_codes: set[int],
) -> None:
    seed = random.randrange(1_000_000)
    stop_after = random.Random(seed).randint(1, 30)
    proc = _start(declared_200, scripts, tmp_path)
    try:
        _wait_for_batches(declared_200, proc, stop_after)
        proc.send_signal(signum)
        _out, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in exit_codes, (seed, proc.returncode, stderr)
    if signum != signal.SIGKILL:
        assert "; committed: backfill bf_label: " in stderr
        assert "Traceback" not in stderr

    state, last_key, rows_done, batches = progress(declared_200, "bf_label")
    labelled = [row for row in _labels(declared_200) if row[2]]
    assert state == "pending" and batches < ROWS // 5, seed
    # What the progress row says is done is exactly what was done, once.
    assert {row[2] for row in labelled} == {1}, seed
    assert [row[0] for row in labelled] == list(range(1, rows_done + 1)), seed
    assert last_key == f"c{rows_done:05d}", seed

    rerun = subprocess.run(
        [str(MANAGE_BIN), "migrate", "backfill", "bf_label"],
        env=manage_env(declared_200, **scripts),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _labels(declared_200) == _expected(), seed
    assert progress(declared_200, "bf_label") == ("complete", f"c{ROWS:05d}", ROWS, ROWS // 5)


def test_two_runners_at_once_never_apply_a_batch_twice(
    declared_200: str,
    scripts: dict[str, str],  # noqa: F811
    tmp_path,
    backend: str,
) -> None:
    # 40 batches of >= 0.2 s: the first is still running when the second starts, even on a
    # loaded machine.
    first = _start(declared_200, scripts, tmp_path, sleep="0.2")
    _wait_for_batches(declared_200, first, 1)
    second = _start(declared_200, scripts, tmp_path, sleep="0.2")
    outcomes = []
    for proc in (first, second):
        try:
            _out, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        outcomes.append((proc.returncode, stderr))
    assert outcomes[0][0] == 0, outcomes
    if backend == "postgresql":  # the second is refused while the first holds the lock
        assert outcomes[1][0] == 4, outcomes
        assert "already running in pid" in outcomes[1][1]
    else:  # SQLite: their batches take turns on the write lock
        assert outcomes[1][0] == 0, outcomes
    assert _labels(declared_200) == _expected()
    assert progress(declared_200, "bf_label") == ("complete", f"c{ROWS:05d}", ROWS, ROWS // 5)
