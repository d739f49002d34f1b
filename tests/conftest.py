"""Shared fixtures: paths to the project's captures and the shared corpus."""
from __future__ import annotations

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pcaps"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def corpus_dir() -> pathlib.Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present")
    return CORPUS
