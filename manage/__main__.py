"""Entry point for `manage` and `python -m manage`."""


def main() -> None:
    from manage.cli import app

    app(prog_name="manage")


if __name__ == "__main__":
    main()
