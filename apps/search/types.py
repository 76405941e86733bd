"""The shapes every search backend takes and returns (backend-neutral, plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .choices import SearchSort

#: Facets in display order: URL parameter -> label.
FACETS: dict[str, str] = {
    "domain": "Domain",
    "team": "Owner team",
    "classification": "Classification",
    "platform": "Platform",
    "tag": "Tags",
    "status": "Status",
    "contract": "Data contract",
    "quality": "Quality",
    "trust": "Trust",
}

# Highlight markers inside text coming back from the database / Elasticsearch: control
# characters that never survive in catalog text (they are stripped before highlighting), so
# escaping the text and then turning them into <mark> is safe (see ``highlight.to_html``).
MARK_START, MARK_STOP = "\x02", "\x03"


@dataclass(frozen=True)
class Visibility:
    """Which data products the searching user may see (``apps.catalog.selectors`` rules):
    everything (stewards, admins), else listed statuses plus ``own_product_ids`` (drafts of
    their teams). ``anonymous`` sees nothing."""

    sees_all: bool = False
    own_product_ids: tuple[int, ...] = ()
    anonymous: bool = False


@dataclass
class SearchParams:
    """A search: free text (``query``, up to 200 characters; quotes make a phrase), facet
    filters (``filters[facet] = [value, ...]``; OR within a facet, AND across facets; values are
    domain/team/platform ids as strings, classification/status/quality codes, tag names,
    ``contract`` "yes"/"no", ``trust`` "trusted"/"issues"/"none"), ``sort``, 1-based ``page`` of ``page_size`` products."""

    query: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = SearchSort.RELEVANCE
    page: int = 1
    page_size: int = 20


@dataclass
class MatchHit:
    """An asset or column of a product that matched; ``*_html`` are escaped with ``<mark>``."""

    kind: str
    asset_id: int
    column_id: int | None
    label_html: str
    description_html: str


@dataclass
class ProductHit:
    product_id: int
    score: float
    name_html: str
    summary_html: str
    matches: list[MatchHit] = field(default_factory=list)
    match_count: int = 0
    product: object | None = None  # the DataProduct, attached by the service


@dataclass
class FacetValue:
    key: str
    count: int
    label: str = ""
    selected: bool = False


@dataclass
class Facet:
    name: str
    label: str
    values: list[FacetValue] = field(default_factory=list)


@dataclass
class SearchResults:
    total: int
    hits: list[ProductHit]
    facets: dict[str, dict[str, int]]  # facet -> value key -> count (raw, labelled by the service)
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> word searched instead
    page: int = 1
    page_size: int = 20
    # True when only the best candidates were counted: ``total`` is then a lower bound and
    # facet counts cover those candidates (see PostgresBackend._search_sql).
    truncated: bool = False


@dataclass
class Suggestion:
    """Autocomplete: a data product (``slug`` set) or a word to search for."""

    text: str
    html: str
    slug: str = ""
