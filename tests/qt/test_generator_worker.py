from __future__ import annotations

import threading
from collections.abc import Iterator

from pytestqt.qtbot import QtBot

from anyllm_desktop.core.cancel import CancelToken
from anyllm_desktop.core.events import Done, Error, Event, Progress
from anyllm_desktop.workers.generator_worker import GeneratorWorker


def _run(qtbot: QtBot, worker: GeneratorWorker) -> list[Event]:
    received: list[Event] = []
    worker.event.connect(received.append)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    return received


def test_events_arrive_in_order_on_the_gui_thread(qtbot: QtBot) -> None:
    source_threads: list[threading.Thread] = []
    delivered_on: list[threading.Thread] = []

    def source(cancel: CancelToken) -> Iterator[Event]:
        source_threads.append(threading.current_thread())
        for i in range(3):
            yield Progress("step", i, 3)
        yield Done("result")

    worker = GeneratorWorker(source)
    worker.event.connect(lambda _e: delivered_on.append(threading.current_thread()))
    events = _run(qtbot, worker)
    assert [type(e) for e in events] == [Progress, Progress, Progress, Done]
    assert [e.done for e in events[:3]] == [0, 1, 2]
    assert source_threads[0] is not threading.main_thread()
    assert set(delivered_on) == {threading.main_thread()}


def test_an_exception_becomes_an_error_event(qtbot: QtBot) -> None:
    def source(cancel: CancelToken) -> Iterator[Event]:
        yield Progress("step")
        raise OSError("disk on fire")

    events = _run(qtbot, GeneratorWorker(source))
    assert isinstance(events[-1], Error) and "disk on fire" in events[-1].message


def test_cancel_stops_the_source_between_steps(qtbot: QtBot) -> None:
    release = threading.Event()
    steps: list[int] = []

    def source(cancel: CancelToken) -> Iterator[Event]:
        for i in range(1000):
            if cancel.cancelled:
                return
            steps.append(i)
            yield Progress("step", i)
            release.wait(5)

    worker = GeneratorWorker(source)
    worker.event.connect(lambda _e: (worker.cancel(), release.set()))
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    assert len(steps) < 5
