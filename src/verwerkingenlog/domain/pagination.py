"""Pagination rules (§4.8, decisions.md 1)."""

from __future__ import annotations

from dataclasses import dataclass

from verwerkingenlog.domain.errors import InvalidParam

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Page:
    number: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def last_page(count: int, size: int) -> int:
    """R-PAG-3: the last page is max(1, ⌈count / size⌉)."""
    return max(1, -(-count // size))


def page_beyond_end(page: Page, count: int) -> InvalidParam | None:
    """R-PAG-3: a page beyond the last one is a 400 (page 1 of nothing is fine)."""
    last = last_page(count, page.size)
    if page.number > last:
        return InvalidParam("page", "invalid", f"Page {page.number} does not exist; the last page is {last}.")
    return None
