"""A webhook URL the spec's pattern admits is one the sandbox can deliver to (schemathesis holds the
server to that: a schema-valid URL refused is a failure), and what it refuses it names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_sandbox import ecma
from partner_sandbox.webhooks import urls as webhooks


@settings(max_examples=500, deadline=None)
@given(st.from_regex(ecma.python_syntax(webhooks.URL_PATTERN)).filter(lambda u: len(u) <= webhooks.MAX_URL))
def test_every_url_the_pattern_admits_can_be_delivered_to(url):
    assert webhooks.url_problem(url) is None


@pytest.mark.parametrize("url", ["http://[::1/x", "http://[::1]:8080/", "http://127.0.0.1:99999/x", "http:///nohost",
                                 "http://HX@?Ca", "ftp://example.com/", "http://exa mple.com/", "http://999.1.1.1/",
                                 "http://a.b/\n", "http://" + "a" * 2050])
def test_a_url_that_cannot_be_delivered_to_is_named(url):
    assert webhooks.url_problem(url) is not None


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/webhooks", "https://user:pass@hooks.example.com:8443/a?b=1#c",
                                 "http://localhost/x", "http://my-receiver/"])
def test_ordinary_urls_are_accepted(url):
    assert webhooks.url_problem(url) is None
