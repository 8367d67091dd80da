from datetime import date

import pytest

from branchops.queueing import simulate

START = date(2026, 3, 2)  # a Monday


@pytest.fixture
def queue_dir(settings, tmp_path):
    settings.BRANCHOPS_QUEUE_DIR = tmp_path / "queueing"
    return settings.BRANCHOPS_QUEUE_DIR


@pytest.fixture
def ticket_csv(bank, tmp_path):
    """Five weeks of simulated ticket and device logs for the bank's three outlets, as CSV files."""

    def make(days=35, seed=7, patterns=("peak_queueing", "all_day_queueing", "vip_queueing"), name="tickets.csv"):
        codes = [bank.o11.code, bank.o12.code, bank.o21.code]
        results = list(simulate.generate_logs(3, days, seed, start_date=START, patterns=list(patterns),
                                              outlet_codes=codes))
        path = tmp_path / name
        simulate.write_csv([r.tickets for r in results], path)
        dev = tmp_path / f"devices-{name}"
        simulate.write_csv([r.devices for r in results], dev)
        return path, dev

    return make
