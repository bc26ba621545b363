"""Tests of the scripts in research/ (experiments, GPU-lease plumbing): they run only when asked for with
`pytest -m research`; the default run (and CI) deselects them (pyproject's addopts), so an experiment never becomes
permanent maintenance of the product's suite."""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/research/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.research)
