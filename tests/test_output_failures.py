"""Writing the result can fail (a full disk, a closed pipe) or be cut by a stop signal: the
exit code stays the command's, there is one error line and never a traceback, and a --json
document is all or nothing (issue 11, attacker items 1 and 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.conftest import MANAGE_BIN, manage_env

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def run_to(args: list[str], db: str, cwd: Path, *, stdout: str, stderr: str) -> tuple[int, str]:
    """Run manage with stdout/stderr sent to /dev/full ("full") or captured ("pipe");
    returns the exit code and whatever of the captured stream came through."""
    full = open("/dev/full", "w")  # noqa: SIM115 - closed below
    try:
        proc = subprocess.run(
            [str(MANAGE_BIN), *args],
            env=manage_env(db),
            cwd=cwd,
            stdout=full if stdout == "full" else subprocess.PIPE,
            stderr=full if stderr == "full" else subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        full.close()
    return proc.returncode, (proc.stdout or "") + (proc.stderr or "")


@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "table"])
def test_a_full_stdout_is_exit_70_cannot_write_the_output_never_a_traceback(
    db_url, tmp_path, json_flag
) -> None:
    code, stderr = run_to(
        ["users", "list", *json_flag], db_url, tmp_path, stdout="full", stderr="pipe"
    )
    assert code == 70
    assert stderr.splitlines() == [
        "error: cannot write the output (No space left on device); the command itself finished"
    ]
    assert "committed" not in stderr  # a read-only command changed nothing


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["users", "show", "nobody@example.com", "--json"], 3),
        (["roles", "show", "no-such-role", "--json"], 3),
        (["users", "list", "--bogus", "--json"], 2),
        (["users", "list", "--search", "x\udcff", "--json"], 5),
    ],
)
@pytest.mark.parametrize(
    ("stdout", "stderr"), [("full", "pipe"), ("pipe", "full"), ("full", "full")]
)
def test_an_unwritable_stream_keeps_the_real_exit_code_of_a_failure(
    db_url, tmp_path, args, expected, stdout, stderr
) -> None:
    code, seen = run_to(args, db_url, tmp_path, stdout=stdout, stderr=stderr)
    assert code == expected, seen
    assert "Traceback" not in seen
    if stdout == "pipe":  # the envelope still reaches a writable stdout
        assert json.loads(seen.splitlines()[0])["success"] is False
    if stderr == "pipe":
        assert len(seen.splitlines()) == 1 and seen.startswith("error: ")


def test_a_full_stderr_does_not_change_a_successful_command(db_url, tmp_path) -> None:
    code, seen = run_to(["users", "list", "--json"], db_url, tmp_path, stdout="pipe", stderr="full")
    assert code == 0
    assert json.loads(seen)["success"] is True


# Signals while the result is written: real signals to this (the test's) process, in the
# main thread, through the runner's own result writer.


class _SignalsOnDump:
    """A result whose serialisation is interrupted by `signum` (before any byte is written)."""

    def __init__(self, signum: signal.Signals) -> None:
        self.signum = signum

    def model_dump(self, mode: str) -> dict[str, Any]:
        os.kill(os.getpid(), self.signum)
        return {"built": True}


class _SignalsOnWrite:
    """A stdout that receives `signum` in the middle of a write."""

    def __init__(self, signum: signal.Signals) -> None:
        self.signum = signum
        self.text = ""

    def write(self, text: str) -> int:
        half = len(text) // 2
        self.text += text[:half]
        os.kill(os.getpid(), self.signum)
        self.text += text[half:]
        return len(text)

    def flush(self) -> None:
        pass


def _show(result: Any, *, json_output: bool, render: Any = None) -> int:
    from manage.context import GlobalOptions
    from manage.results import show_result as _show_result

    with pytest.raises(typer.Exit) as exit_info:
        _show_result(GlobalOptions(), result, json_output=json_output, render=render)
        raise typer.Exit(0)
    return exit_info.value.exit_code


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_a_signal_before_the_json_document_is_written_gives_the_interrupted_envelope(
    capsys, signum, code
) -> None:
    assert _show(_SignalsOnDump(signum), json_output=True) == code
    captured = capsys.readouterr()
    document = json.loads(captured.out)  # exactly one whole document
    assert document["success"] is False
    assert document["error_code"] == "INTERRUPTED"
    assert len(captured.err.splitlines()) == 1 and captured.err.startswith("error: interrupted")


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_a_signal_during_the_json_write_leaves_the_whole_document_and_one_line(
    capsys, monkeypatch, signum, code
) -> None:
    fake = _SignalsOnWrite(signum)
    monkeypatch.setattr("sys.stdout", fake)
    assert _show({"rows": list(range(1000))}, json_output=True) == code
    document = json.loads(fake.text)  # whole, not cut off
    assert document["success"] is True and document["data"]["rows"][-1] == 999
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: interrupted while writing the result (the whole result was written)"
    ]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_a_table_is_rendered_is_one_line_saying_the_output_may_be_cut(
    capsys, signum, code
) -> None:
    def render(_result: Any) -> None:
        from manage import output

        output.success_line("first row")
        os.kill(os.getpid(), signum)
        output.success_line("never shown")

    assert _show([], json_output=False, render=render) == code
    captured = capsys.readouterr()
    assert "never shown" not in captured.out
    assert captured.err.splitlines() == [
        "error: interrupted while writing the result (the output may be cut off)"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["config", "show"],
        ["config", "show", "--json"],
        ["seed", "list"],
        ["--version"],
        ["users", "--help"],
        ["roles", "export"],
        ["seed", "dump", "roles"],
        ["migrate", "history"],
        ["audit", "list", "--json"],
    ],
)
def test_every_command_that_prints_to_a_full_stdout_is_one_line_and_70(
    db_url, tmp_path, args
) -> None:
    code, stderr = run_to(args, db_url, tmp_path, stdout="full", stderr="pipe")
    assert code == 70
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("error: cannot write the output (No space left on device)")


def _blocked_writing(pid: int) -> bool:
    """True while the process waits in a write to a full pipe (Linux's wchan)."""
    try:
        return "pipe" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc wchan")
@pytest.mark.parametrize("json_flag", [True, False], ids=["json", "table"])
def test_sigterm_to_a_real_process_blocked_writing_its_result(
    manage_proc, db_url, tmp_path, json_flag
) -> None:
    """The attacker's example: the reader stops reading, the result fills the pipe, SIGTERM
    arrives mid-write. JSON: the whole document, then one line; a table: one line saying the
    output may be cut off. Exit 143 either way."""
    import time

    seeded = manage_proc(
        ["seed", "fake", "users", "--count", "2400"],  # more than a pipe holds, as a table too
        db=db_url,
        env={"MANAGE_PASSWORD": "Very-Long-Passw0rd-x"},
    )
    assert seeded.exit_code == 0, seeded.stderr
    args = ["users", "list", "--limit", "2400", *(["--json"] if json_flag else [])]
    proc = subprocess.Popen(
        [str(MANAGE_BIN), *args],
        env=manage_env(db_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _blocked_writing(proc.pid):
            assert time.monotonic() < deadline and proc.poll() is None, "never blocked writing"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143
    errors = [line for line in err.decode().splitlines() if line.startswith("error:")]
    if json_flag:
        document = json.loads(out)  # whole, never cut off
        assert document["success"] is True and len(document["data"]) == 2400
        assert errors == [
            "error: interrupted while writing the result (the whole result was written)"
        ]
    else:
        assert errors == ["error: interrupted while writing the result (the output may be cut off)"]
    assert "Traceback" not in err.decode()
