"""Where the repository and the developer data folder ../shared are, and skipping without it."""

from __future__ import annotations

from pathlib import Path

import pytest

# Installed editable (make install): this file stays at tests/support/akhbar_testkit/.
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the developer data folder ../shared is not beside "
                    "the repository)")
    return path
