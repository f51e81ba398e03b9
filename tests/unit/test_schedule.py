"""The background schedule runs its job again and again, and a failing job never stops it."""

from __future__ import annotations

import threading

import pytest

from backend.schedule import Periodic


def test_a_failing_job_is_logged_and_run_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    third = threading.Event()

    def job() -> None:
        runs.append(1)
        if len(runs) >= 3:
            third.set()
        raise RuntimeError("storage fell over")

    periodic = Periodic(job, 0.01, name="sweeper", jitter=lambda: 0.5)
    periodic.start()
    try:
        assert third.wait(timeout=5)
    finally:
        periodic.stop()

    assert "sweeper failed" in caplog.text and "storage fell over" in caplog.text


def test_stop_ends_the_thread_before_the_next_turn() -> None:
    ran = threading.Event()
    periodic = Periodic(ran.set, 3600, name="sweeper")
    periodic.start()
    periodic.stop(timeout=2)

    assert not ran.is_set()
    assert not periodic._thread.is_alive()


@pytest.mark.parametrize(("draw", "delay"), [(0.0, 80.0), (0.5, 100.0), (1.0, 120.0)])
def test_each_wait_is_the_interval_give_or_take_a_fifth(draw: float, delay: float) -> None:
    periodic = Periodic(lambda: None, 100, name="sweeper", jitter=lambda: draw)

    assert periodic._delay() == pytest.approx(delay)
