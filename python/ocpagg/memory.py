"""The process's memory: which pool pyarrow allocates from, and handing freed heap back to the system.

A run's memory comes and goes by the day: each row group decoded (pyarrow's pool) and each day's
state and rows (the kernel, in the C heap). Allocators keep what was freed for reuse; for a worker
whose limit counts resident pages (koku's OCP workers: 512 MiB) that reserve is what pushes a run
over, so a run asks for it to be returned between days.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Callable, Iterator

import pyarrow as pa


def lean_memory_pool() -> pa.MemoryPool:
    """pyarrow's jemalloc pool returning freed pages at once (else the system pool).

    Decoding koku's 200k-row row groups day after day, pyarrow's default mimalloc pool keeps about
    80 MB more resident at 10M pod rows a month, and jemalloc at its default decay ~100 MB more at
    50M.
    """
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        pool = pa.system_memory_pool()
    return pool


def use_lean_allocator() -> str:
    """Make ``lean_memory_pool`` pyarrow's default pool for the process (the CLI); returns its name."""
    pool = lean_memory_pool()
    pa.set_memory_pool(pool)
    return pool.backend_name


@contextlib.contextmanager
def lean_allocator() -> Iterator[pa.MemoryPool]:
    """``lean_memory_pool`` as pyarrow's default pool for the block only (a library call: koku's worker).

    Buffers allocated meanwhile go back to the pool they came from whenever they are freed.
    """
    previous = pa.default_memory_pool()
    pool = lean_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield pool
    finally:
        pa.set_memory_pool(previous)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library, or none found)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_heap() -> bool:
    """Return the C heap's free pages to the system (glibc); True when something was returned.

    Called between days: the day's state was freed, and glibc would otherwise keep tens of MB of
    it resident (at 50M pod rows a month the MASU call peaked 15-20 MiB lower with it). A no-op
    where the C library has no ``malloc_trim``.
    """
    if _TRIM is None:
        return False
    return bool(_TRIM(0))
