"""Builds the search index tables from the catalog, in set-based SQL.

One code path serves a single product (on commit of a change, through Celery), a batch and the
whole catalog (``manage.py reindex``, the benchmark's 100,000 products): every statement takes
``product_ids`` (``None`` = all). Statements only read catalog tables and write ``search_*``
tables, in one transaction per call, so a search never sees a half-built product.

Text configuration is ``english`` (stemming: "salaries" and "salary" both index as ``salari``).
Weights: product name A; summary and tags B; description, domain and owner team C; the names
and descriptions of its assets and columns D. Names like ``humanresources.employeepayhistory``
or ``employee_id`` are split on ``.`` and ``_`` first so their parts are words.
"""

from __future__ import annotations

from django.db import connection, transaction

from . import ranking

# Products' assets: the tables/views their output ports expose (the whole schema, or one table).
_PRODUCT_ASSETS = """
    SELECT DISTINCT op.data_product_id AS product_id, a.id AS asset_id
    FROM catalog_outputport op
    JOIN catalog_asset a
      ON a.platform_id = op.platform_id AND a.schema = op.schema
     AND (op."table" = '' OR a.name = op."table") AND a.removed_at IS NULL
    WHERE (%(all)s OR op.data_product_id = ANY(%(ids)s::bigint[]))
"""

_SPLIT = "regexp_replace({}, '[._]+', ' ', 'g')"

_INSERT_ENTRIES = f"""
    INSERT INTO search_searchentry (product_id, asset_id, column_id, kind, label, description, document)
    WITH pa AS ({_PRODUCT_ASSETS})
    SELECT pa.product_id, a.id, NULL, 'asset', a.schema || '.' || a.name, a.description,
           setweight(to_tsvector('english', {_SPLIT.format("a.schema || '.' || a.name")}), 'A')
           || setweight(to_tsvector('english', a.description), 'B')
    FROM pa JOIN catalog_asset a ON a.id = pa.asset_id
    UNION ALL
    SELECT pa.product_id, c.asset_id, c.id, 'column', c.name, c.description,
           setweight(to_tsvector('english', {_SPLIT.format("c.name")}), 'A')
           || setweight(to_tsvector('english', c.description), 'B')
    FROM pa JOIN catalog_column c ON c.asset_id = pa.asset_id
"""

_INSERT_DOCUMENTS = f"""
    INSERT INTO search_productdocument (
        product_id, name, summary, domain_id, owner_team_id, classification, status, tags, platform_ids,
        has_contract, quality, trust, trust_card, consumer_count, view_count, request_count, popularity, created_at,
        indexed_at, head)
    SELECT p.id, p.name, p.summary, p.domain_id, p.owner_team_id, p.classification, p.status, p.tags,
           coalesce(ports.platform_ids, '{{}}'),
           EXISTS (SELECT 1 FROM catalog_datacontract dc WHERE dc.data_product_id = p.id AND dc.status <> 'retired'),
           coalesce(q.quality, 'none'), 'none', '{{}}'::jsonb, 0, 0, 0, 0, p.created_at, now(),
           setweight(to_tsvector('english', p.name), 'A')
           || setweight(to_tsvector('english', p.summary || ' ' || array_to_string(p.tags, ' ')), 'B')
    FROM catalog_dataproduct p
    LEFT JOIN (
        SELECT data_product_id, array_agg(DISTINCT platform_id) AS platform_ids
        FROM catalog_outputport WHERE (%(all)s OR data_product_id = ANY(%(ids)s::bigint[])) GROUP BY 1
    ) ports ON ports.data_product_id = p.id
    LEFT JOIN (
        SELECT pa.product_id,
               CASE WHEN bool_or(qc.status IN ('fail', 'error')) THEN 'fail'
                    WHEN bool_or(qc.status = 'warn') THEN 'warn'
                    WHEN bool_or(qc.status = 'pass') THEN 'pass' ELSE 'none' END AS quality
        FROM ({_PRODUCT_ASSETS}) pa
        JOIN catalog_qualitycheck qc ON qc.asset_id = pa.asset_id AND qc.removed_at IS NULL
        GROUP BY 1
    ) q ON q.product_id = p.id
    WHERE (%(all)s OR p.id = ANY(%(ids)s::bigint[]))
"""

_INSERT_TEXTS = f"""
    INSERT INTO search_producttext (product_id, document)
    SELECT p.id,
           setweight(to_tsvector('english', p.name), 'A')
           || setweight(to_tsvector('english', p.summary || ' ' || array_to_string(p.tags, ' ')), 'B')
           || setweight(to_tsvector('english', p.description || ' ' || d.name || ' ' || t.name), 'C')
           || setweight(to_tsvector('english', coalesce(e.text, '')), 'D')
    FROM catalog_dataproduct p
    JOIN catalog_domain d ON d.id = p.domain_id
    JOIN accounts_team t ON t.id = p.owner_team_id
    LEFT JOIN (
        SELECT product_id,
               string_agg({_SPLIT.format("label")} || ' ' || description, ' ') AS text
        FROM search_searchentry WHERE (%(all)s OR product_id = ANY(%(ids)s::bigint[])) GROUP BY 1
    ) e ON e.product_id = p.id
    WHERE (%(all)s OR p.id = ANY(%(ids)s::bigint[]))
"""

# Popularity over the last 30 days (the formula is apps/search/ranking.py's): active grants
# (consumers) weigh most, then access requests, then page views.
_POPULARITY = (
    """
    UPDATE search_productdocument d
    SET consumer_count = s.consumers, view_count = s.views, request_count = s.requests,
        popularity = """
    + ranking.popularity_sql(consumers="s.consumers", requests="s.requests", views="s.views")
    + """
    FROM (
        SELECT doc.product_id,
               coalesce(g.n, 0) AS consumers, coalesce(v.n, 0) AS views, coalesce(r.n, 0) AS requests
        FROM search_productdocument doc
        LEFT JOIN (
            SELECT op.data_product_id AS product_id, count(*) AS n
            FROM access_grant gr
            JOIN access_accessrequest ar ON ar.id = gr.access_request_id
            JOIN catalog_outputport op ON op.id = ar.output_port_id
            WHERE gr.status = 'active' GROUP BY 1
        ) g ON g.product_id = doc.product_id
        LEFT JOIN (
            SELECT data_product_id AS product_id, count(*) AS n FROM insights_usageevent
            WHERE kind = 'product_view' AND at >= now() - interval '30 days' GROUP BY 1
        ) v ON v.product_id = doc.product_id
        LEFT JOIN (
            SELECT op.data_product_id AS product_id, count(*) AS n
            FROM access_accessrequest ar JOIN catalog_outputport op ON op.id = ar.output_port_id
            WHERE ar.created_at >= now() - interval '30 days' GROUP BY 1
        ) r ON r.product_id = doc.product_id
        WHERE (%(all)s OR doc.product_id = ANY(%(ids)s::bigint[]))
    ) s
    WHERE d.product_id = s.product_id
      AND (d.consumer_count, d.view_count, d.request_count) IS DISTINCT FROM (s.consumers, s.views, s.requests)
"""
)

# The vocabulary for autocomplete and typo correction: words of 3-40 letters/digits (not only
# digits) from names, summaries, tags, descriptions, asset and column names and descriptions.
_TERMS = """
    INSERT INTO search_searchterm (term, frequency)
    SELECT w, count(*) FROM (
        SELECT regexp_split_to_table(lower(p.name || ' ' || p.summary || ' ' || array_to_string(p.tags, ' ')
                                           || ' ' || p.description), '[^[:alnum:]]+') AS w
        FROM catalog_dataproduct p WHERE (%(all)s OR p.id = ANY(%(ids)s::bigint[]))
        UNION ALL
        SELECT regexp_split_to_table(lower(e.label || ' ' || e.description), '[^[:alnum:]]+')
        FROM search_searchentry e WHERE (%(all)s OR e.product_id = ANY(%(ids)s::bigint[]))
    ) words
    WHERE length(w) BETWEEN 3 AND 40 AND w !~ '^[0-9]+$'
    GROUP BY w
    ON CONFLICT (term) DO {on_conflict}
"""


# Advisory lock keys (PostgreSQL "Advisory Locks"): one for full runs, one namespace for products.
_LOCK_ALL = 0x5EA4C400
_LOCK_PRODUCT = 0x5EA4C401


def index_products(*, product_ids: list[int] | None = None) -> int:
    """(Re)build the search rows of ``product_ids`` (``None``: every data product) from the
    catalog. Products that no longer exist lose their rows (cascade). Returns the number of
    product documents written. Raises ``psycopg`` errors only on database failure (the previous
    rows then stay, the transaction rolls back)."""
    params = {"all": product_ids is None, "ids": sorted(set(product_ids or []))}
    with transaction.atomic(), connection.cursor() as cursor:
        # Concurrent runs (a sync and a contract publish both reindexing a product) would each delete
        # nothing and then collide on insert: a full run excludes all others, an incremental run
        # takes the full run's lock shared and each of its products' locks, in id order (no deadlock).
        if product_ids is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s::bigint)", [_LOCK_ALL])
        else:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s::bigint)", [_LOCK_ALL])
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::int, id::int) FROM unnest(%s::bigint[]) AS id ORDER BY id",
                [_LOCK_PRODUCT, params["ids"]],
            )
        if product_ids is None:
            # TRUNCATE refuses to run while deferred FK checks of this transaction are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE search_searchentry, search_productdocument, search_producttext")
        else:
            cursor.execute("DELETE FROM search_searchentry WHERE product_id = ANY(%(ids)s::bigint[])", params)
            cursor.execute("DELETE FROM search_productdocument WHERE product_id = ANY(%(ids)s::bigint[])", params)
            cursor.execute("DELETE FROM search_producttext WHERE product_id = ANY(%(ids)s::bigint[])", params)
        cursor.execute(_INSERT_ENTRIES, params)
        cursor.execute(_INSERT_DOCUMENTS, params)
        written = cursor.rowcount
        _index_trust(cursor, product_ids)
        cursor.execute(_INSERT_TEXTS, params)
        cursor.execute(_POPULARITY, params)
        if product_ids is None:
            cursor.execute("TRUNCATE search_searchterm")
        # Incremental runs add new words; frequencies are recounted by a full reindex.
        cursor.execute(
            _TERMS.format(on_conflict="NOTHING" if product_ids else "UPDATE SET frequency = EXCLUDED.frequency"), params
        )
    return written


def _index_trust(cursor, product_ids: list[int] | None) -> None:
    """Trust signal and card facts of the products with a data contract (the rest keep the
    defaults: no contract). ``apps.contracts.selectors.trust_summaries`` is the one definition
    (a fixed number of queries however many products)."""
    import json

    from apps.contracts.selectors import trust_card, trust_summaries

    from .choices import TRUST_BY_LEVEL

    summaries = trust_summaries(product_ids=product_ids)
    if not summaries:
        return
    ids = list(summaries)
    cursor.execute(
        """UPDATE search_productdocument d SET trust = t.trust, trust_card = t.card::jsonb
           FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(product_id, trust, card)
           WHERE d.product_id = t.product_id""",
        [
            ids,
            [TRUST_BY_LEVEL[summaries[i]["level"]] for i in ids],
            [json.dumps(trust_card(summaries[i])) for i in ids],
        ],
    )


def popularity_refresh(*, product_ids: list[int] | None = None) -> int:
    """Recompute consumers, 30-day views and requests, and popularity; returns rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(_POPULARITY, {"all": product_ids is None, "ids": list(product_ids or [])})
        return cursor.rowcount


def product_ids_on_platform(*, platform_id: int) -> list[int]:
    """Data products with an output port on the platform (their schema may have changed)."""
    from apps.catalog.models import OutputPort

    return sorted(set(OutputPort.objects.filter(platform_id=platform_id).values_list("data_product_id", flat=True)))
