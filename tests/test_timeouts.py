"""Every test runs under a time limit (pytest-timeout), so a hang fails instead of stalling CI."""

from __future__ import annotations

from tests.conftest import TIMEOUTS_BY_MARKER


def test_a_default_limit_and_a_session_limit_are_configured(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("timeout")
    assert 0 < float(pytestconfig.getini("timeout")) <= 300
    assert 0 < float(pytestconfig.getini("session_timeout")) <= 3600


def test_marked_tests_get_their_own_limit(request):
    """Checked on this very session's collected tests: every slow or browser test has the
    limit conftest.py gives its marker."""
    checked = 0
    for item in request.session.items:
        for marker, seconds in TIMEOUTS_BY_MARKER.items():
            if item.get_closest_marker(marker):
                assert item.get_closest_marker("timeout").args == (seconds,), item.nodeid
                checked += 1
                break
    selected = {item.nodeid for item in request.session.items}
    if any("test_browser" in nodeid or "shipped_params" in nodeid for nodeid in selected):
        assert checked > 0
