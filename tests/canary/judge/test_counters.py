"""Exact increments from raw samples: baseline, history, resets, late series, cells by sample time."""

from canary.judge.counters import CellCounts


def series(*points):
    return list(points)


def test_increments_count_from_the_baseline_across_a_reset_and_a_late_series():
    counts = CellCounts(start=100.0, cell_s=1.0)
    counts.baseline({"a": series((90.0, 40.0), (100.0, 100.0)), "b": series((99.5, 7.0))})
    counts.fold({"a": series((100.5, 130.0), (101.5, 4.0)), "b": series((101.5, 9.0)), "c": series((101.2, 5.0))})
    assert counts.total(lambda k: k == "a") == 34  # 30, then a reset: the new value
    assert counts.total(lambda k: k == "b") == 2
    assert counts.total(lambda k: k == "c") == 5  # born after the start: from 0
    assert counts.resets == 1 and sorted(counts.keys()) == ["a", "b", "c"]
    assert counts.before(lambda k: k == "a") == 60  # its history: 40 -> 100 before the start


def test_a_reset_whose_new_value_passes_the_old_one_is_counted_in_full():
    """Between two reads the process restarted and served more than before: every scrape is read."""
    counts = CellCounts(start=0.0, cell_s=1.0)
    counts.baseline({"a": series((0.0, 100.0))})
    counts.fold({"a": series((0.25, 110.0), (0.5, 3.0), (0.75, 150.0))})
    assert counts.total(lambda k: True) == 10 + 3 + 147 and counts.resets == 1


def test_a_series_missing_from_the_scrape_at_the_start_is_not_counted_from_zero():
    """A failed scrape at the start leaves no sample there; the history window still finds the series."""
    counts = CellCounts(start=100.0, cell_s=1.0)
    counts.baseline({"a": series((97.0, 5000.0), (98.0, 5010.0))})  # nothing at 99 or 100
    counts.fold({"a": series((101.0, 5030.0))})
    assert counts.total(lambda k: True) == 20


def test_samples_land_in_the_cell_of_their_own_timestamp_and_are_read_once():
    counts = CellCounts(start=10.0, cell_s=2.0)
    counts.baseline({"a": series((10.0, 0.0))})
    counts.fold({"a": series((11.0, 1.0), (12.0, 3.0), (12.5, 4.0))})
    counts.fold({"a": series((12.0, 3.0), (12.5, 4.0), (16.1, 9.0))})  # an overlapping read
    assert {i: c["a"] for i, c in counts.cells.items()} == {0: 3.0, 1: 1.0, 3: 5.0}


def test_the_historys_last_recent_s_is_kept_in_cells_below_zero():
    """Stable's recent tail starts from them (canary.judge.tail): cell -1 holds (99, 100], the start's sample
    included, cell -2 (98, 99], and a sample at start - recent_s is outside; none of them counts in the analysis."""
    counts = CellCounts(start=100.0, cell_s=1.0, recent_s=3.0)
    counts.baseline({"a": series((96.0, 0.0), (97.0, 1.0), (98.5, 3.0), (99.0, 7.0), (100.0, 15.0))})
    assert counts.cells == {-2: {"a": 2.0 + 4.0}, -1: {"a": 8.0}}  # 97.0's increment is outside
    assert counts.before(lambda k: True) == 15 and counts.total(lambda k: True) == 0
