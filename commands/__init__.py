"""One Typer sub-app per noun. Commands parse input, call services, render results."""
