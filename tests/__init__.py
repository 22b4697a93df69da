"""The project's tests; the tree mirrors the source (see tests/conftest.py)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
