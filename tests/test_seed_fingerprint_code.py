"""The code digest of a seed fingerprint covers every module that decides what a run writes.

A fingerprint recorded by one version of manage must not be trusted by another whose CSV
converter, direct COPY or value checks differ: the rerun would report rows unchanged that a
full run of the new code writes differently. Every app/services/seed*.py module (including
ones added later) and the helpers they take values from change the digest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services import seed_digests

SERVICES = Path(seed_digests.__file__).resolve().parent
MODULES = [
    *sorted(f"app.services.{p.stem}" for p in SERVICES.glob("seed*.py")),
    "app.services.column_checks",
    "app.services.fake_copy",
    "app.models._columns",
    "app.yaml_loader",
]


@pytest.mark.parametrize("module", MODULES)
def test_a_changed_module_of_the_seed_path_changes_the_code_digest(module, monkeypatch) -> None:
    before = seed_digests.code_digest()
    assert before is not None
    monkeypatch.setitem(seed_digests._module_digests, module, "changed")
    assert seed_digests.code_digest() != before, f"{module} is not covered by the code digest"
