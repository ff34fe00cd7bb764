"""The chaos script at smoke size: a few kills, stops, cuts and an outage longer than
``retry_for`` while NERV runtimes write in each mode. Correctness only, never speed: nothing
acknowledged is lost, duplicated or out of order, and every writer makes progress after each
fault (within the script's generous deadline)."""

from __future__ import annotations

from benchmarks.chaos import FAULTS, SMOKE, run


def test_no_acknowledged_write_is_lost_duplicated_or_reordered_by_faults() -> None:
    report = run(SMOKE, say=lambda _line: None)
    summary = "\n".join(report.lines())

    assert report.faults == {"kill": 2, "stop": 2, "cut": 3, "outage": 1}, summary
    assert report.no_progress == 0, summary
    assert sum(len(report.progress_seconds[kind]) for kind in FAULTS) == 8, summary
    assert [m.mode for m in report.modes] == ["sync", "async"], summary
    for mode in report.modes:
        assert mode.acknowledged > 0, summary
        assert (mode.lost, mode.duplicated, mode.out_of_order) == (0, 0, 0), summary
        assert mode.stored >= mode.acknowledged, summary
        assert mode.unexpected == (), summary
        # The outage outlasts retry_for: the writers said so with the plugin's typed error.
        assert mode.reported_failures >= 1, summary
    assert report.ok, summary
