import pytest

MATRIX_SIZE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The size of the authorisation matrix walked (test_authorisation_matrix.py), in every run's summary."""
    if MATRIX_SIZE in config.stash:
        terminalreporter.write_line(config.stash[MATRIX_SIZE])
