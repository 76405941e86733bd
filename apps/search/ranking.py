"""How search ranks data products: the one definition both backends render.

    score = relevance
            × (1 + ln(1 + popularity) / POPULARITY_DAMPING)
            × CONTRACT_MULTIPLIER if the product has a data contract
            × QUALITY_MULTIPLIERS[quality]   (passing 1.1, failing 0.8, else 1)
            × STATUS_MULTIPLIERS[status]     (deprecated 0.3, else 1)
            × TRUST_MULTIPLIERS[trust]       (trusted 1.1, else 1: apps.contracts.selectors.trust_level)

    popularity = 3 × consumers (active grants) + access requests + 0.2 × page views (30 days)

``relevance`` is each backend's weighted text match: PostgreSQL's ``ts_rank`` with
:data:`TEXT_WEIGHTS` per ``tsvector`` weight class, Elasticsearch's BM25 with the field boosts of
:func:`es_product_fields` (the same classes, relative to class D). Everything after relevance is
the same number in both, rendered here to SQL (:func:`score_sql`, :func:`popularity_sql`, used by
``backends/postgres.py`` and ``indexing.py``) and to Painless (:func:`score_painless`, used by
``backends/elasticsearch.py``); :func:`score` and :func:`popularity` evaluate it in Python.
``tests/search/test_ranking.py`` checks that the PostgreSQL order is the Python order.
"""

from __future__ import annotations

import math

# -- text relevance ---------------------------------------------------------------------------

# tsvector weight class -> ts_rank weight. Product name A; summary and tags B; description,
# domain and owner team C; the names and descriptions of its assets and columns D (indexing.py).
TEXT_WEIGHTS: dict[str, float] = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}
# Elasticsearch product field -> weight class (boost = class weight / class D's weight).
ES_PRODUCT_FIELD_CLASSES: dict[str, str] = {
    "name": "A",
    "summary": "B",
    "tags.text": "B",
    "description": "C",
    "domain_name": "C",
    "owner_team_name": "C",
}
# Matching assets and columns (a nested query, best entry per product): label above description.
ES_ENTRY_FIELD_BOOSTS: dict[str, float] = {"entries.label": 2.0, "entries.description": 1.0}

# -- signals ------------------------------------------------------------------------------------

# Popularity per product over the last 30 days: active grants weigh most, then access requests, then views.
POPULARITY_WEIGHTS: dict[str, float] = {"consumers": 3.0, "requests": 1.0, "views": 0.2}
# ln(1 + popularity) / 4: 1,000 views lift a product about 2.6×, not 1,000×, so relevance still leads.
POPULARITY_DAMPING = 4.0
CONTRACT_MULTIPLIER = 1.2
# ProductSearchDocument.quality ('pass', 'warn', 'fail', 'none') -> multiplier; missing: 1.
QUALITY_MULTIPLIERS: dict[str, float] = {"pass": 1.1, "fail": 0.8}
# ProductSearchDocument.status -> multiplier; missing: 1.
STATUS_MULTIPLIERS: dict[str, float] = {"deprecated": 0.3}
# ProductSearchDocument.trust ('trusted', 'issues', 'none') -> multiplier; missing: 1. A small boost:
# on top of the contract's, a contract that holds (no drift, rules pass, no incident) lifts a product a little more.
TRUST_MULTIPLIERS: dict[str, float] = {"trusted": 1.1}


def _num(value: float) -> str:
    """A constant as SQL and Painless spell it (``1.2``, ``3.0``): always a floating literal."""
    return repr(float(value))


# -- Python ------------------------------------------------------------------------------------


def popularity(*, consumers: int, requests: int, views: int) -> float:
    """Popularity from 30-day counts: active grants, access requests, product page views."""
    w = POPULARITY_WEIGHTS
    return w["consumers"] * consumers + w["requests"] * requests + w["views"] * views


def multiplier(*, popularity: float, has_contract: bool, quality: str, status: str, trust: str = "none") -> float:
    """Everything the score multiplies relevance by (a positive float)."""
    m = 1 + math.log(1 + popularity) / POPULARITY_DAMPING
    if has_contract:
        m *= CONTRACT_MULTIPLIER
    m *= QUALITY_MULTIPLIERS.get(quality, 1.0)
    m *= STATUS_MULTIPLIERS.get(status, 1.0)
    m *= TRUST_MULTIPLIERS.get(trust, 1.0)
    return m


def score(
    relevance: float, *, popularity: float, has_contract: bool, quality: str, status: str, trust: str = "none"
) -> float:
    """The ranking score of a product whose text match is ``relevance``."""
    return relevance * multiplier(
        popularity=popularity, has_contract=has_contract, quality=quality, status=status, trust=trust
    )


# -- PostgreSQL --------------------------------------------------------------------------------


def ts_rank_weights() -> str:
    """:data:`TEXT_WEIGHTS` as ``ts_rank``'s ``float4[]`` literal, in its {D, C, B, A} order."""
    return "{" + ", ".join(_num(TEXT_WEIGHTS[c]) for c in "DCBA") + "}"


def popularity_sql(*, consumers: str, requests: str, views: str) -> str:
    """:func:`popularity` as a SQL expression over the given column expressions."""
    w = POPULARITY_WEIGHTS
    return f"{_num(w['consumers'])} * {consumers} + {_num(w['requests'])} * {requests} + {_num(w['views'])} * {views}"


def _case_sql(column: str, multipliers: dict[str, float]) -> str:
    whens = " ".join(f"WHEN '{key}' THEN {_num(value)}" for key, value in multipliers.items())
    return f"CASE {column} {whens} ELSE 1.0 END"


def score_sql(relevance: str, *, doc: str = "d") -> str:
    """:func:`score` as a SQL expression: ``relevance`` (a SQL expression) times the multipliers
    read from the ``search_productdocument`` row aliased ``doc``."""
    return (
        f"({relevance}"
        f"\n    * (1 + ln(1 + {doc}.popularity) / {_num(POPULARITY_DAMPING)})"
        f"\n    * CASE WHEN {doc}.has_contract THEN {_num(CONTRACT_MULTIPLIER)} ELSE 1.0 END"
        f"\n    * {_case_sql(f'{doc}.quality', QUALITY_MULTIPLIERS)}"
        f"\n    * {_case_sql(f'{doc}.status', STATUS_MULTIPLIERS)}"
        f"\n    * {_case_sql(f'{doc}.trust', TRUST_MULTIPLIERS)})"
    )


# -- Elasticsearch -----------------------------------------------------------------------------


def es_product_fields() -> list[str]:
    """``multi_match`` fields with boosts (``name^10.0``) from :data:`TEXT_WEIGHTS`."""
    base = TEXT_WEIGHTS["D"]
    return [f"{field}^{TEXT_WEIGHTS[cls] / base:g}" for field, cls in ES_PRODUCT_FIELD_CLASSES.items()]


def es_entry_fields() -> list[str]:
    """Nested entry fields with boosts; a boost of 1 is left unspelled."""
    return [field if boost == 1 else f"{field}^{boost:g}" for field, boost in ES_ENTRY_FIELD_BOOSTS.items()]


def _painless_keyword(field: str, default: str) -> str:
    return f"doc['{field}'].size() == 0 ? '{default}' : doc['{field}'].value"


def score_painless() -> str:
    """:func:`score` as a Painless ``script_score`` over ``_score`` (the text relevance) and the
    product document's ``popularity``, ``has_contract``, ``quality``, ``status`` and ``trust``."""
    lines = [
        "double pop = doc['popularity'].size() == 0 ? 0 : doc['popularity'].value;",
        f"double s = _score * (1 + Math.log(1 + pop) / {_num(POPULARITY_DAMPING)});",
        f"if (doc['has_contract'].size() > 0 && doc['has_contract'].value) {{ s *= {_num(CONTRACT_MULTIPLIER)}; }}",
    ]
    for var, field, multipliers in (
        ("q", "quality", QUALITY_MULTIPLIERS),
        ("st", "status", STATUS_MULTIPLIERS),
        ("tr", "trust", TRUST_MULTIPLIERS),
    ):
        lines.append(f"String {var} = {_painless_keyword(field, 'none')};")
        for key, value in multipliers.items():
            lines.append(f"if ({var} == '{key}') {{ s *= {_num(value)}; }}")
    lines.append("return s;")
    return "\n".join(lines) + "\n"
