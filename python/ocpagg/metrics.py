"""Prometheus metrics of summary runs (``pip install ocpagg[metrics]``): a run observer.

Labels are few and fixed — an outcome, a phase, a report type, a data source — never a schema,
a source or a cluster, so koku's workers can share one registry across tenants:

=========================================  =========  ==============================================
metric                                     type       labels
=========================================  =========  ==============================================
``ocpagg_runs_total``                      counter    ``outcome`` (``ocpagg.errors.OUTCOMES``)
``ocpagg_run_duration_seconds``            histogram
``ocpagg_phase_seconds_total``             counter    ``phase``: list, read, aggregate, write, commit
``ocpagg_input_rows_total``                counter    ``report_type``
``ocpagg_input_bytes_total``               counter    (compressed bytes of the row groups read)
``ocpagg_output_rows_total``               counter    ``data_source`` (rows committed)
``ocpagg_last_success_timestamp_seconds``  gauge      (multiprocess mode ``max``)
``ocpagg_compare_rows``                    gauge      ``result``: rows of the last ``compare``
=========================================  =========  ==============================================

In ``prometheus_client``'s multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set, as in koku's
Celery workers) the values go to that directory and koku's ``MultiProcessCollector`` serves them.
``write_textfile`` and ``push`` export a registry for node-exporter's textfile collector and a
Pushgateway (the command line's ``--metrics-textfile`` and ``--pushgateway``).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .errors import OUTCOMES, ConfigError
from .schema import REPORT_TYPES

if TYPE_CHECKING:
    from .run import RunResult

PHASES = ("list", "read", "aggregate", "write", "commit")
DATA_SOURCES = ("Pod", "Storage")
# A day of a small cluster takes seconds, a month of a large one many minutes.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))

METRIC_NAMES = (
    "ocpagg_runs_total",
    "ocpagg_run_duration_seconds",
    "ocpagg_phase_seconds_total",
    "ocpagg_input_rows_total",
    "ocpagg_input_bytes_total",
    "ocpagg_output_rows_total",
    "ocpagg_last_success_timestamp_seconds",
)


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ConfigError("metrics need prometheus_client: pip install 'ocpagg[metrics]'") from exc
    return prometheus_client


@dataclass(frozen=True)
class _Families:
    runs: Any
    duration: Any
    phase: Any
    input_rows: Any
    input_bytes: Any
    output_rows: Any
    last_success: Any


_FAMILIES: weakref.WeakKeyDictionary[Any, _Families] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _families(registry: Any) -> _Families:
    """The metric families in ``registry``, registered on first use (a registry holds each name once)."""
    with _LOCK:
        found = _FAMILIES.get(registry)
        if found is not None:
            return found
        pc = _client()
        kw = {"registry": registry}
        families = _Families(
            runs=pc.Counter("ocpagg_runs", "Summary runs by outcome.", ["outcome"], **kw),
            duration=pc.Histogram(
                "ocpagg_run_duration_seconds", "Wall time of a summary run.", buckets=DURATION_BUCKETS, **kw
            ),
            phase=pc.Counter("ocpagg_phase_seconds", "Seconds spent in each phase of runs.", ["phase"], **kw),
            input_rows=pc.Counter(
                "ocpagg_input_rows", "Hourly rows pushed to the kernel.", ["report_type"], **kw
            ),
            input_bytes=pc.Counter(
                "ocpagg_input_bytes", "Compressed bytes of the Parquet column chunks read.", **kw
            ),
            output_rows=pc.Counter(
                "ocpagg_output_rows", "Summary rows committed, by data source.", ["data_source"], **kw
            ),
            last_success=pc.Gauge(
                "ocpagg_last_success_timestamp_seconds",
                "Unix time at which the last successful run ended.",
                multiprocess_mode="max",
                **kw,
            ),
        )
        # Every label value exists from the start, so rate() and increase() see the first event.
        for outcome in OUTCOMES:
            families.runs.labels(outcome)
        for phase in PHASES:
            families.phase.labels(phase)
        for report_type in REPORT_TYPES:
            families.input_rows.labels(report_type)
        for source in DATA_SOURCES:
            families.output_rows.labels(source)
        _FAMILIES[registry] = families
        return families


class RunMetrics:
    """A run observer (``ocpagg.run.RunObserver``) recording into a ``prometheus_client`` registry.

    ``registry`` defaults to ``prometheus_client.REGISTRY``. Many ``RunMetrics`` may share one
    registry (one per run, as koku's MASU makes them).
    """

    def __init__(self, registry: Any = None) -> None:
        self.registry = registry if registry is not None else _client().REGISTRY
        self._m = _families(self.registry)
        self.finished = False  # whether ``finish`` was called
        self.outcomes: list[str] = []  # of the runs observed, in order

    def phase(self, name: str, seconds: float) -> None:
        self._m.phase.labels(name).inc(max(seconds, 0.0))

    def input_read(self, report_type: str, rows: int, compressed_bytes: int) -> None:
        self._m.input_rows.labels(report_type).inc(rows)
        self._m.input_bytes.inc(compressed_bytes)

    def day_done(self, day: dt.date, batch: pa.RecordBatch) -> None:
        """Nothing per day: output rows count once committed (``finish``)."""

    def finish(self, outcome: str, seconds: float, result: RunResult | None) -> None:
        self.finished = True
        self.outcomes.append(outcome)
        self._m.runs.labels(outcome).inc()
        self._m.duration.observe(max(seconds, 0.0))
        if result is not None:
            for data_source, rows in result.rows_by_data_source.items():
                self._m.output_rows.labels(data_source).inc(rows)
        if outcome == "ok":
            self._m.last_success.set(time.time())


def multiprocess_registry() -> Any:
    """A registry collecting ``PROMETHEUS_MULTIPROC_DIR`` (every process's values), for exporting."""
    pc = _client()
    from prometheus_client import multiprocess

    registry = pc.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition_registry(registry: Any) -> Any:
    """What to export: ``registry``, or every process's values in multiprocess mode."""
    return multiprocess_registry() if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else registry


LAST_SUCCESS = "ocpagg_last_success_timestamp_seconds"


def previous_last_success(path: str) -> float | None:
    """The last-success time in an earlier textfile at ``path``, if any (carried over a failed run)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == LAST_SUCCESS and sample.value > 0:
                    return float(sample.value)
    except (OSError, ValueError):
        return None
    return None


def write_textfile(path: str, registry: Any, *, succeeded: bool) -> None:
    """The registry in the text format at ``path`` for node-exporter, atomically (temp file, rename).

    After a failed run the file keeps the previous file's last-success time, so "no success for a
    day" alerts measure from the last real success.
    """
    pc = _client()
    exported = exposition_registry(registry)
    previous = None if succeeded else previous_last_success(path)
    body = pc.generate_latest(exported).decode()
    if previous is not None:
        body = "\n".join(
            f"{LAST_SUCCESS} {previous!r}" if line.startswith(f"{LAST_SUCCESS} ") else line
            for line in body.split("\n")
        )
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise ConfigError(f"cannot write the metrics textfile {path}: {exc}") from exc


def push(gateway: str, job: str, registry: Any, *, succeeded: bool, timeout: float = 10.0) -> None:
    """The run's metrics to a Pushgateway, grouped under ``job``.

    A success replaces the group (``PUT``). A failure adds to it (``POST``) everything but the
    last-success time, which so keeps the value of the last successful push.
    """
    pc = _client()
    exported = exposition_registry(registry)
    try:
        if succeeded:
            pc.push_to_gateway(gateway, job=job, registry=exported, timeout=timeout)
        else:
            names = {s.name for family in exported.collect() for s in family.samples} - {LAST_SUCCESS}
            pc.pushadd_to_gateway(
                gateway, job=job, registry=exported.restricted_registry(names), timeout=timeout
            )
    except Exception as exc:  # noqa: BLE001 - network failures become one line
        raise ConfigError(f"cannot push metrics to {gateway}: {exc}") from exc


COMPARE_RESULTS = ("matched", "only_koku", "only_ocpagg", "differ")
_COMPARE_GAUGES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def record_comparison(registry: Any, counts: dict[str, int]) -> None:
    """``ocpagg_compare_rows{result}``: the rows of the last comparison per result.

    ``counts`` is ``ComparisonResult.gauges()``: matched, only_koku, only_ocpagg, differ.
    """
    with _LOCK:
        gauge = _COMPARE_GAUGES.get(registry)
        if gauge is None:
            gauge = _client().Gauge(
                "ocpagg_compare_rows",
                "Rows of the last comparison of koku's summary with ocpagg's, by result.",
                ["result"],
                registry=registry,
                multiprocess_mode="liveall",
            )
            _COMPARE_GAUGES[registry] = gauge
    for result in COMPARE_RESULTS:
        gauge.labels(result).set(int(counts.get(result, 0)))
