"""`compare.py --profile` sums up py-spy's collapsed stacks, also when py-spy garbles one."""

from __future__ import annotations

from pathlib import Path

from benchmarks.compare import profile_summary


def test_a_profile_is_summed_up_per_thread_by_own_and_total_samples(tmp_path: Path) -> None:
    profile = tmp_path / "path.txt"
    profile.write_text(
        "thread (7): MainThread;main (a.py:1);work (a.py:5) 3\n"
        "thread (7): MainThread;main (a.py:1) 1\n"
        "thread (8): loop;run (b.py:9) 4\n"
    )
    lines = profile_summary(profile)
    assert lines[0] == "path.txt: 8 samples at 500/s"
    assert "  thread MainThread: 4 samples" in lines
    assert "    self   75.0%  work (a.py)" in lines
    assert "    total 100.0%  main (a.py)" in lines
    assert "    self  100.0%  run (b.py)" in lines


def test_a_stack_py_spy_read_mid_change_is_left_out_not_fatal(tmp_path: Path) -> None:
    """py-spy can read a frame while the process changes it: its name is then arbitrary bytes,
    line breaks and all (seen in a `plugin_sync` profile)."""
    profile = tmp_path / "path.txt"
    profile.write_bytes(
        b"thread (7): MainThread;main (a.py:1) 2\n"
        b'thread (7): MainThread; (\x05\x00BENCH\x01C\xe4\x1c\n\x85{"n":5} 1\n'
    )
    lines = profile_summary(profile)
    assert lines[0] == "path.txt: 2 samples at 500/s"
    assert lines[1] == "  (2 garbled lines left out: py-spy read a stack mid-change)"
    assert "    self  100.0%  main (a.py)" in lines
