from datetime import date

import pytest

from branchops.queueing import kpis, simulate

START = date(2026, 3, 2)  # a Monday


@pytest.fixture(scope="module")
def con():
    """A DuckDB connection for the engine tests of one module."""
    c = kpis.connect()
    yield c
    c.close()


@pytest.fixture
def queue_dir(settings, tmp_path):
    settings.BRANCHOPS_QUEUE_DIR = tmp_path / "queueing"
    return settings.BRANCHOPS_QUEUE_DIR


@pytest.fixture(scope="session")
def _simulated(tmp_path_factory):
    """Simulated logs are deterministic: make each set once per test session."""
    made = {}

    def get(codes, days, seed, patterns):
        key = (tuple(codes), days, seed, tuple(patterns))
        if key not in made:
            folder = tmp_path_factory.mktemp("sim")
            results = list(simulate.generate_logs(len(codes), days, seed, start_date=START,
                                                  patterns=list(patterns), outlet_codes=list(codes)))
            tickets, devices = folder / "tickets.csv", folder / "devices-tickets.csv"
            simulate.write_csv([r.tickets for r in results], tickets)
            simulate.write_csv([r.devices for r in results], devices)
            made[key] = (tickets, devices)
        return made[key]

    return get


@pytest.fixture
def ticket_csv(bank, _simulated):
    """Five weeks of simulated ticket and device logs for the bank's three outlets, as CSV files
    (o11 peak-period queueing, o12 all-day queueing, o21 VIP queueing)."""

    def make(days=35, seed=7, patterns=("peak_queueing", "all_day_queueing", "vip_queueing"), name=None):
        return _simulated([bank.o11.code, bank.o12.code, bank.o21.code], days, seed, patterns)

    return make
