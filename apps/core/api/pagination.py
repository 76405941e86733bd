"""Page-number pagination: ``?page=2&page_size=100`` (at most 200 a page)."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    page_size_query_description = "Results per page (1-200, default 50)."
    max_page_size = 200
