"""Stands in for numpy in tests that check dora without it: tests/python/CMakeLists.txt puts
tests/python/without/numpy first on PYTHONPATH (also for the nodes those tests start), so importing
numpy fails as if it were not installed, whatever the machine has."""

raise ModuleNotFoundError(
    "No module named 'numpy' (hidden by tests/python/without/numpy: this test checks dora without it)",
    name="numpy")
