"""Run an iterator in a background thread, a few items ahead, so reading overlaps aggregation.

pyarrow decodes Parquet and the kernel aggregates with the GIL released, so on two cores the
reader thread and the kernel run at the same time. The queue bounds what is held in flight.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Yield ``items`` as produced by a worker thread at most ``depth`` items ahead.

    An exception raised by ``items`` is re-raised here; closing this generator stops the worker.
    The worker runs in a copy of the caller's context (the run's log fields, ``ocpagg.logs``).
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Failure(exc))

    worker = threading.Thread(
        target=contextvars.copy_context().run, args=(work,), name="ocpagg-reader", daemon=True
    )
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
