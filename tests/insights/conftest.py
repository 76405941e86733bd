from tests.search.conftest import catalog  # noqa: F401 - the same small indexed catalog
