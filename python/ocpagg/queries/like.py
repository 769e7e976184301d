"""SQL LIKE as Trino evaluates it without an ESCAPE clause, for cost-category namespace patterns."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=1024)
def like_regex(pattern: str) -> re.Pattern[str]:
    """``%`` any run, ``_`` one character, everything else literal (``\\`` too); case-sensitive."""
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def like(value: str | None, pattern: str | None) -> bool:
    """``value LIKE pattern``; NULL on either side never matches."""
    if value is None or pattern is None:
        return False
    return like_regex(pattern).fullmatch(value) is not None


def max_category(namespace: str | None, categories: Iterable[tuple[str, int]]) -> int | None:
    """The greatest cost_category_id whose pattern matches the namespace, or None."""
    found = [cid for pattern, cid in categories if like(namespace, pattern)]
    return max(found) if found else None
