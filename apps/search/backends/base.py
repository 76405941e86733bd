from __future__ import annotations

import abc

from ..types import SearchParams, SearchResults, Suggestion, Visibility


class SearchBackend(abc.ABC):
    """What a search backend does. Both rank the same way, by the formula defined once in
    :mod:`apps.search.ranking`:

    ``score = relevance × (1 + ln(1 + popularity) / 4) × 1.2 if it has a data contract
    × quality (passing 1.1, failing 0.8) × 0.3 if deprecated``

    where relevance is the weighted text match (name > summary/tags > description > asset and
    column names and descriptions) and popularity = 3 × active grants + access requests +
    0.2 × page views over 30 days.
    """

    name: str = ""

    @abc.abstractmethod
    def search(self, params: SearchParams, *, visibility: Visibility) -> SearchResults:
        """Products matching ``params`` that ``visibility`` allows, one page, with facet counts
        over all matches and matching assets/columns (highlighted) for each product on the page."""

    @abc.abstractmethod
    def autocomplete(self, text: str, *, visibility: Visibility, limit: int = 8) -> list[Suggestion]:
        """Data products and words completing ``text`` (typo-tolerant), best first."""

    def index_products(self, *, product_ids: list[int] | None) -> None:  # noqa: B027  (optional: a no-op by default)
        """Push the rebuilt rows of ``product_ids`` (``None``: all) to the backend's own index.
        The PostgreSQL backend searches those rows directly, so this is a no-op there."""
