"""PostgreSQL search: full text (``tsvector`` with weights, GIN) + pg_trgm typo correction.

One statement finds the matching products, ranks them, and counts every facet over all of them
(a MATERIALIZED CTE read once per facet, in memory); a second fetches and highlights the matching
assets/columns of the products on the page only. Typos: words not in the vocabulary
(``search_searchterm``) are replaced by their nearest terms by trigram similarity (pg_trgm's
``%`` operator and GIN index), and searched alongside the typed word. Without pg_trgm (the
embedded ``pgserver`` of ``make demo`` does not ship it) the nearest terms come from
``difflib`` over the vocabulary words with the same first letter.

PostgreSQL docs: "Controlling Text Search" (ts_rank weights, ts_headline), "pg_trgm".
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache

from django.db import connection, transaction

from apps.catalog.choices import LISTED_STATUSES

from .. import ranking
from ..choices import SearchSort
from ..highlight import to_html
from ..query import ParsedQuery, parse
from ..types import MARK_START, MARK_STOP, MatchHit, ProductHit, SearchParams, SearchResults, Suggestion, Visibility
from .base import SearchBackend

# ts_rank weights in {D, C, B, A} order (apps/search/ranking.py).
WEIGHTS = ranking.ts_rank_weights()
HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_STOP}, HighlightAll=true"
HEADLINE_SHORT = f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=30, MinWords=12, MaxFragments=1"
MATCHES_PER_PRODUCT = 3
TAG_FACET_SIZE = 25

# Candidates per search (see PostgresBackend._search_sql) and how many are ranked on the whole document.
CANDIDATES = 500  # strong matches (name, summary, tags)
TEXT_CANDIDATES = 200  # matches anywhere (description, tables, columns)
RERANK = 100
CANDIDATE_ORDER = {
    SearchSort.RELEVANCE: "d.popularity DESC, d.product_id",
    SearchSort.POPULARITY: "d.popularity DESC, d.product_id",
    SearchSort.NEWEST: "d.created_at DESC, d.product_id",
    SearchSort.NAME: "lower(d.name), d.product_id",
}

ORDER = {
    SearchSort.RELEVANCE: "score DESC, product_id",
    SearchSort.POPULARITY: "popularity DESC, score DESC, product_id",
    SearchSort.NEWEST: "created_at DESC, product_id",
    SearchSort.NAME: "lower(name), product_id",
}

# Facet -> (SQL condition on the document with its parameter, SQL key expression for counts).
FILTERS = {
    "domain": ("d.domain_id = ANY(%(f_domain)s::bigint[])", "domain_id::text"),
    "team": ("d.owner_team_id = ANY(%(f_team)s::bigint[])", "owner_team_id::text"),
    "classification": ("d.classification = ANY(%(f_classification)s::text[])", "classification"),
    "platform": ("d.platform_ids && %(f_platform)s::bigint[]", None),
    "tag": ("d.tags && %(f_tag)s::varchar[]", None),
    "status": ("d.status = ANY(%(f_status)s::text[])", "status"),
    "contract": ("d.has_contract = ANY(%(f_contract)s::boolean[])", "CASE WHEN has_contract THEN 'yes' ELSE 'no' END"),
    "quality": ("d.quality = ANY(%(f_quality)s::text[])", "quality"),
    "trust": ("d.trust = ANY(%(f_trust)s::text[])", "trust"),
}


@lru_cache(maxsize=1)
def trigram_available() -> bool:
    """Whether pg_trgm is installed in the portal's database (cached per process)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def corrections_for(parsed: ParsedQuery) -> dict[str, list[str]]:
    """Typed word -> the vocabulary word it probably meant, for words (4+ letters) that
    are not in the vocabulary; the word being typed is left alone while it still prefixes one."""
    candidates = [w for w in parsed.words if len(w) >= 4 and not w.isdigit()]
    if not candidates:
        return {}
    last = parsed.words[-1] if parsed.prefix_last else None
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT w FROM unnest(%(words)s::text[]) w
               WHERE NOT EXISTS (SELECT 1 FROM search_searchterm t WHERE t.term = w)
                 AND NOT (w = %(last)s AND EXISTS (SELECT 1 FROM search_searchterm t WHERE t.term LIKE %(last_prefix)s))""",
            # Words are letters and digits only (query.parse): nothing to escape for LIKE.
            {"words": candidates, "last": last or "", "last_prefix": f"{last}%"},
        )
        unknown = [row[0] for row in cursor.fetchall()]
        if not unknown:
            return {}
        if trigram_available():
            cursor.execute(
                """SELECT w, ARRAY(SELECT term FROM search_searchterm
                                   WHERE term %% w ORDER BY similarity(term, w) DESC, frequency DESC LIMIT 1)
                   FROM unnest(%(words)s::text[]) w""",
                {"words": unknown},
            )
            return {w: list(terms) for w, terms in cursor.fetchall() if terms}
        result = {}
        for word in unknown:
            cursor.execute(
                """SELECT term FROM search_searchterm WHERE left(term, 1) = left(%(w)s, 1)
                   AND length(term) BETWEEN length(%(w)s) - 2 AND length(%(w)s) + 2
                   ORDER BY frequency DESC LIMIT 20000""",
                {"w": word},
            )
            close = difflib.get_close_matches(word, [r[0] for r in cursor.fetchall()], n=1, cutoff=0.75)
            if close:
                result[word] = close
    return result


def tsquery_text(parsed: ParsedQuery, corrections: dict[str, list[str]], *, weights: str = "") -> str:
    """The ``to_tsquery`` input: every word (OR its corrections) AND every phrase; the word being
    typed also as a prefix. Words are letters/digits only (``query.parse``), so the text cannot
    carry tsquery operators."""
    groups = []
    for i, word in enumerate(parsed.words):
        alternatives = [
            f"{word}:*{weights}"
            if parsed.prefix_last and i == len(parsed.words) - 1
            else (f"{word}:{weights}" if weights else word)
        ]
        alternatives += [f"{c}:{weights}" if weights else c for c in corrections.get(word, [])]
        groups.append("(" + " | ".join(alternatives) + ")")
    for phrase in parsed.phrases:
        groups.append("(" + " <-> ".join(phrase) + ")")
    return " & ".join(groups)


_HEADLINE_SQL = "ts_headline('english', translate({column}, E'\\x02\\x03', ''), {q}, %(hl)s)"


class PostgresBackend(SearchBackend):
    name = "postgres"

    def search(self, params: SearchParams, *, visibility: Visibility) -> SearchResults:
        page_size = max(1, min(params.page_size, 100))
        page = max(1, params.page)
        if visibility.anonymous:
            return SearchResults(total=0, hits=[], facets={}, page=page, page_size=page_size)
        parsed = parse(params.query)
        corrections = corrections_for(parsed)
        tsq = tsquery_text(parsed, corrections)
        sql, args = self._search_sql(tsq, params, visibility, page, page_size, parsed_phrases=bool(parsed.phrases))
        with transaction.atomic(), connection.cursor() as cursor:
            # Parallel workers cost more to start than this statement takes.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute(sql, args)
            row = cursor.fetchone()
        total, text_count, hits_json = row[0], row[1], row[2]
        facets = dict(zip(self._facet_names(), row[3:], strict=True))
        truncated = text_count >= max(TEXT_CANDIDATES, page * page_size) or total >= max(CANDIDATES, page * page_size)
        hits = [
            ProductHit(product_id=h[0], score=h[1], name_html=to_html(h[2]), summary_html=to_html(h[3]))
            for h in (hits_json if isinstance(hits_json, list) else json.loads(hits_json or "[]"))
        ]
        if tsq and hits:
            self._attach_matches(hits, tsq)
        facets = {
            name: (counts if isinstance(counts, dict) else json.loads(counts or "{}"))
            for name, counts in facets.items()
        }
        return SearchResults(
            total=total,
            hits=hits,
            facets=facets,
            page=page,
            page_size=page_size,
            truncated=truncated,
            corrections={w: c[0] for w, c in corrections.items()},
        )

    def _facet_names(self) -> list[str]:
        return list(FILTERS)

    def _search_sql(
        self,
        tsq: str,
        params: SearchParams,
        visibility: Visibility,
        page: int,
        page_size: int,
        parsed_phrases: bool = False,
    ):
        """One statement: candidates, ranking, page, facet counts.

        A common word can match half of a 100,000-product catalog, and ranking or counting all of
        them costs hundreds of milliseconds. So the statement works on *candidates*: at most
        ``CANDIDATES`` matches in the order of the requested sort (popularity for relevance;
        index-ordered, so the scan stops early), plus at most ``CANDIDATES`` products whose name,
        summary or tags match (the strong matches, GIN on ``head``). Candidates get a cheap score
        (``head`` rank); the best ``RERANK`` are ranked on the whole document. When the
        candidates were cut (``truncated``), the total is reported as "more than" and facet counts
        cover the candidates; below that everything is exact.
        """
        k = max(CANDIDATES, page * page_size)
        args: dict = {
            "tsq": tsq,
            "weights": WEIGHTS,
            "hl": HEADLINE,
            "limit": page_size,
            "offset": (page - 1) * page_size,
            "listed": list(LISTED_STATUSES),
            "own": list(visibility.own_product_ids),
            "tags": TAG_FACET_SIZE,
            "k": k,
            "k_text": max(TEXT_CANDIDATES, page * page_size),
            "rerank": max(RERANK, page * page_size),
        }
        where = ["TRUE"]
        if not visibility.sees_all:
            # The sub-select keeps the planner from estimating each of possibly thousands of ids.
            where.append("(d.status = ANY(%(listed)s::text[]) OR d.product_id IN (SELECT unnest(%(own)s::bigint[])))")
        for facet, values in params.filters.items():
            if facet not in FILTERS or not values:
                continue
            if facet == "contract":
                values = [v == "yes" for v in values if v in ("yes", "no")]
            elif facet in ("domain", "team", "platform"):
                values = [int(v) for v in values if str(v).isdigit()]
            if not values:
                continue
            where.append(FILTERS[facet][0])
            args[f"f_{facet}"] = values
        sort = params.sort if params.sort in ORDER else SearchSort.RELEVANCE
        if not tsq and sort == SearchSort.RELEVANCE:
            sort = SearchSort.POPULARITY
        candidate_order = CANDIDATE_ORDER[sort]
        tq = "to_tsquery('english'::regconfig, %(tsq)s)"
        conditions = " AND ".join(where)
        if tsq:
            # A phrase is rare more often than a word, and walking the sort order to find a rare
            # match visits the whole catalog; the GIN index (documents holding every word of it,
            # then the positions rechecked) bounds the work by those documents instead.
            text_order = "" if parsed_phrases else f"ORDER BY {candidate_order}"
            text_candidates = f"""
                SELECT d.product_id FROM search_productdocument d JOIN search_producttext t ON t.product_id = d.product_id
                WHERE t.document @@ {tq} AND {conditions} {text_order} LIMIT %(k_text)s"""
            candidates = f"""
                SELECT product_id FROM by_text
                UNION
                (SELECT d.product_id FROM search_productdocument d
                 WHERE d.head @@ {tq} AND {conditions} ORDER BY {candidate_order} LIMIT %(k)s)"""
            cheap = f"(0.05 + ts_rank(%(weights)s::float4[], d.head, {tq}, 32))"
            full = f"ts_rank(%(weights)s::float4[], t.document, {tq}, 32)"
            name_html = _HEADLINE_SQL.format(column="d.name", q=tq)
            summary_html = _HEADLINE_SQL.format(column="d.summary", q=tq)
        else:
            text_candidates = f"SELECT d.product_id FROM search_productdocument d WHERE {conditions} ORDER BY {candidate_order} LIMIT %(k_text)s"
            candidates = f"SELECT d.product_id FROM search_productdocument d WHERE {conditions} ORDER BY {candidate_order} LIMIT %(k)s"
            cheap = full = "1.0"
            name_html, summary_html = "d.name", "d.summary"
        order = ORDER[sort]
        facet_selects = []
        for facet, (_, key) in FILTERS.items():
            if key:
                facet_selects.append(
                    f"(SELECT coalesce(json_object_agg(k, n), '{{}}') FROM (SELECT {key} AS k, count(*) AS n FROM m GROUP BY 1) f)"
                )
            else:
                column = "platform_ids" if facet == "platform" else "tags"
                facet_selects.append(
                    f"(SELECT coalesce(json_object_agg(k, n), '{{}}') FROM (SELECT unnest({column})::text AS k, count(*) AS n"
                    f" FROM m GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(tags)s) f)"
                )
        sql = f"""
            WITH by_text AS MATERIALIZED ({text_candidates}),
            m AS MATERIALIZED (
                SELECT d.product_id, d.name, d.domain_id, d.owner_team_id, d.classification, d.status, d.tags,
                       d.platform_ids, d.has_contract, d.quality, d.trust, d.popularity, d.created_at,
                       {ranking.score_sql(cheap)} AS score
                FROM search_productdocument d
                WHERE d.product_id IN ({candidates})
            ),
            best AS (
                SELECT product_id FROM m ORDER BY {order} LIMIT %(rerank)s
            ),
            ranked AS (
                SELECT d.product_id, d.name, d.popularity, d.created_at,
                       {ranking.score_sql(full)} AS score
                FROM search_productdocument d JOIN search_producttext t ON t.product_id = d.product_id
                WHERE d.product_id IN (SELECT product_id FROM best)
            ),
            top AS (
                SELECT r.product_id, r.score, r.pos, {name_html} AS name_html, {summary_html} AS summary_html
                FROM (SELECT *, row_number() OVER (ORDER BY {order}) AS pos FROM ranked
                      ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) r
                JOIN search_productdocument d ON d.product_id = r.product_id
            )
            SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM by_text),
                   (SELECT coalesce(json_agg(json_build_array(product_id, score, name_html, summary_html) ORDER BY pos), '[]') FROM top),
                   {", ".join(facet_selects)}
        """
        return sql, args

    def _attach_matches(self, hits: list[ProductHit], tsq: str) -> None:
        by_id = {h.product_id: h for h in hits}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH q AS (SELECT to_tsquery('english', %(tsq)s) AS q)
                SELECT x.product_id, x.kind, x.asset_id, x.column_id,
                       ts_headline('english', translate(x.label, E'\\x02\\x03', ''), q.q, %(hl)s),
                       ts_headline('english', translate(x.description, E'\\x02\\x03', ''), q.q, %(hl_short)s),
                       x.n
                FROM (
                    SELECT e.id, e.product_id, e.kind, e.asset_id, e.column_id, e.label, e.description,
                           row_number() OVER (PARTITION BY e.product_id
                                              ORDER BY ts_rank(e.document, q.q) DESC, e.kind, e.id) AS rn,
                           count(*) OVER (PARTITION BY e.product_id) AS n
                    FROM search_searchentry e, q
                    WHERE e.product_id = ANY(%(ids)s::bigint[]) AND e.document @@ q.q
                ) x, q
                WHERE x.rn <= %(per)s
                ORDER BY x.product_id, x.rn
                """,
                {
                    "tsq": tsq,
                    "ids": list(by_id),
                    "hl": HEADLINE,
                    "hl_short": HEADLINE_SHORT,
                    "per": MATCHES_PER_PRODUCT,
                },
            )
            for product_id, kind, asset_id, column_id, label, description, n in cursor.fetchall():
                hit = by_id[product_id]
                hit.match_count = n
                hit.matches.append(
                    MatchHit(
                        kind=kind,
                        asset_id=asset_id,
                        column_id=column_id,
                        label_html=to_html(label),
                        description_html=to_html(description),
                    )
                )

    def autocomplete(self, text: str, *, visibility: Visibility, limit: int = 8) -> list[Suggestion]:
        parsed = parse(text)
        if visibility.anonymous or not parsed.words or len("".join(parsed.words)) < 2:
            return []
        parsed.prefix_last = True
        last = parsed.words[-1]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM search_searchterm WHERE term LIKE %(p)s ORDER BY frequency DESC, term LIMIT %(n)s",
                {"p": f"{last}%", "n": limit},
            )
            words = [r[0] for r in cursor.fetchall()]
        corrections = {} if words else corrections_for(ParsedQuery(words=[last], prefix_last=False))
        words += [w for ws in corrections.values() for w in ws]
        # Products: every typed word (or its correction) in the *name* (weight A).
        parsed_names = ParsedQuery(words=parsed.words, phrases=[], prefix_last=True)
        name_corrections = {last: corrections[last]} if last in corrections else {}
        tsq = tsquery_text(parsed_names, name_corrections, weights="A")
        where = "d.head @@ to_tsquery('english', %(tsq)s)"
        if not visibility.sees_all:
            where += " AND (d.status = ANY(%(listed)s::text[]) OR d.product_id IN (SELECT unnest(%(own)s::bigint[])))"
        with connection.cursor() as cursor:
            # Names of popular products first: the 5,000 most popular are checked (a walk of the
            # popularity index, bounded); if that finds too few, the GIN index finds the rest (a
            # rare word has few matches, so sorting them all is cheap). Either way the work is
            # bounded, whether the word is in half the names or in none.
            sql = f"""SELECT p.slug, d.name,
                           ts_headline('english', translate(d.name, E'\\x02\\x03', ''), to_tsquery('english', %(tsq)s), %(hl)s)
                    FROM {{source}} d JOIN catalog_dataproduct p ON p.id = d.product_id
                    WHERE {where}
                    ORDER BY d.popularity DESC, lower(d.name) LIMIT %(n)s"""
            args = {
                "tsq": tsq,
                "listed": list(LISTED_STATUSES),
                "own": list(visibility.own_product_ids),
                "hl": HEADLINE,
                "n": max(1, limit // 2),
            }
            popular = "(SELECT * FROM search_productdocument ORDER BY popularity DESC LIMIT 5000)"
            cursor.execute(sql.format(source=popular), args)
            rows = cursor.fetchall()
            if len(rows) < args["n"]:
                cursor.execute(
                    sql.format(source="search_productdocument").replace(
                        "ORDER BY d.popularity DESC", "ORDER BY d.popularity + 0 DESC"
                    ),
                    args,
                )
                rows = cursor.fetchall()
            products = [Suggestion(text=name, html=to_html(hl), slug=slug) for slug, name, hl in rows]
        prefix = " ".join(parsed.words[:-1])
        suggestions = products + [
            Suggestion(text=f"{prefix} {w}".strip(), html=to_html(f"{prefix} {MARK_START}{w}{MARK_STOP}".strip()))
            for w in dict.fromkeys(words)
        ]
        return suggestions[:limit]
