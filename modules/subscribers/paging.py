"""Changelist paging that stays fast at a million rows.

Django's changelist counts every matching row and slices with a deep OFFSET over full rows.
Here the count is capped a few pages beyond the page asked for (`SELECT count(*) FROM (...
LIMIT n)`), and a page first reads only the primary keys of its slice (an index-only walk of
the ordering index), then fetches those rows with their related objects.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property

LOOKAHEAD_PAGES = 10


class IdsFirstPaginator(Paginator):
    def __init__(self, object_list, per_page, *, current_page: int = 1, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.current_page = max(int(current_page), 1)

    @cached_property
    def count(self) -> int:
        """Exact up to `LOOKAHEAD_PAGES` pages past the current one, then "at least this many"."""
        cap = (self.current_page + LOOKAHEAD_PAGES) * self.per_page + 1
        return self.object_list.order_by()[:cap].count()

    @property
    def is_capped(self) -> bool:
        return self.count == (self.current_page + LOOKAHEAD_PAGES) * self.per_page + 1

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = self.object_list.filter(pk__in=ids) if ids else self.object_list.none()
        return self._get_page(rows, number, self)


def page_from_request(request, param: str = "p") -> int:
    try:
        return max(int(request.GET.get(param, 1)), 1)
    except (TypeError, ValueError):
        return 1
