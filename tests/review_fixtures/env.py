"""Run the project's own env.py: the review fixtures migrate exactly like production does."""

import runpy
from pathlib import Path

import migrations

runpy.run_path(str(Path(migrations.__file__).parent / "env.py"), run_name="env_py")
