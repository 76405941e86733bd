from datetime import date  # noqa: E402

import pytest  # noqa: E402

from apps.insights.kpis import Period  # noqa: E402
from tests.insights.history import at, build_history, travel  # noqa: E402
from tests.search.conftest import catalog  # noqa: F401 - the same small indexed catalog

# Two weeks, Monday 5 to Sunday 18 January 2026.
PERIOD = Period(date(2026, 1, 5), date(2026, 1, 18))


@pytest.fixture
def history(settings):
    """The known history of tests/insights/history.py, read on Monday 19 January 2026 (Berlin)."""
    settings.TIME_ZONE = "Europe/Berlin"
    h = build_history()
    with travel(at(19, 12)):
        yield h
