"""The bad-input suite of issue 7, by class of fault (see conftest.py)."""
