"""Entry point for `manage` and `python -m manage`."""

import sys


def main() -> None:
    from manage.cli import app

    try:
        app(prog_name="manage")
    except OSError as exc:
        # Only a write can fail this far out: every command's own errors are mapped by the
        # runner. Output written outside the runner (help, --version, `config show`, `seed
        # list`) to a full disk or a broken stream: one line and 70, never a traceback.
        sys.exit(_output_lost(exc))


def _output_lost(exc: OSError) -> int:
    from manage import output
    from manage.exit_codes import ExitCode

    output.silence_stream(sys.stdout)
    reason = exc.strerror or type(exc).__name__
    output.safely(output.error_line, f"cannot write the output ({reason})")
    return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    main()
