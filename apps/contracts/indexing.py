"""Keeping the search index in step with contracts: a product's trust signal and card facts follow its
contract, drift findings, quality runs and incidents."""

from __future__ import annotations


def search_reindex(product_id: int) -> None:
    """After commit, rebuild the product's search document (``apps.search.services.search_index_schedule``)."""
    from apps.search.services import search_index_schedule

    search_index_schedule(product_ids=[product_id])
