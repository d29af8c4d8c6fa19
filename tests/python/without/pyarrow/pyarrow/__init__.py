"""Stands in for pyarrow in tests that check dora without it: tests/python/CMakeLists.txt puts
tests/python/without/pyarrow first on PYTHONPATH (also for the nodes those tests start), so importing
pyarrow fails as if it were not installed, whatever the machine has."""

raise ModuleNotFoundError(
    "No module named 'pyarrow' (hidden by tests/python/without/pyarrow: this test checks dora without it)",
    name="pyarrow")
