"""Entry point for `manage` and `python -m manage`."""

import gc
import sys
from typing import Any


def main() -> None:
    from manage import interrupts

    interrupts.install_early_handlers()  # first: the imports below take most of a second
    try:
        from manage.cli import app

        app(prog_name="manage")
    except interrupts.Interrupted as exc:
        # Stopped while loading, before the command took the signals over: no work was done.
        sys.exit(_interrupted_early(exc))
    except OSError as exc:
        # Only a write can fail this far out: every command's own errors are mapped by the
        # runner. Output written outside the runner (help, --version, `config show`, `seed
        # list`) to a full disk or a broken stream: one line and 70, never a traceback.
        sys.exit(_output_lost(exc))
    finally:
        # The command is over (its output written, its connections closed): what is left is
        # the interpreter's teardown, whose garbage collections walk every object SQLAlchemy,
        # pydantic and the models made, 0.3-0.5 s of CPU per command measured here. Frozen
        # objects are left to the end of the process; atexit handlers and the finalizers of
        # whatever their references free still run.
        gc.freeze()


def _interrupted_early(exc: Any) -> int:
    """One error line (and, with --json, the INTERRUPTED envelope); the signal's exit code."""
    from manage import interrupts

    interrupts.reported(exc.exit_code)  # the first signal decides; another one is ignored
    from manage import output
    from manage.errors import classify

    failure = classify(exc, where="")
    output.safely(output.error_line, failure.message)
    arguments = sys.argv[1:]
    if "--json" in arguments[: arguments.index("--") if "--" in arguments else None]:
        output.safely_json(
            success=False, data=None, message=failure.message, error_code=failure.error_code
        )
    return int(failure.exit_code)


def _output_lost(exc: OSError) -> int:
    from manage import output
    from manage.exit_codes import ExitCode

    output.silence_stream(sys.stdout)
    reason = exc.strerror or type(exc).__name__
    output.safely(output.error_line, f"cannot write the output ({reason})")
    return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    main()
