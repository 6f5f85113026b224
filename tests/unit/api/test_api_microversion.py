"""Tests for api.microversion: which version a request asks for."""

from __future__ import annotations

import pytest

from api.errors import BadRequest, NotAcceptable
from api.microversion import MAX, MIN, Version, requested, response_headers


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, MIN),
    ({"OpenStack-API-Version": "compute 2.69"}, Version(2, 69)),
    ({"OpenStack-API-Version": "image 2.5, compute 2.79"}, Version(2, 79)),
    ({"OpenStack-API-Version": "compute latest"}, MAX),
    ({"X-OpenStack-Nova-API-Version": "2.37"}, Version(2, 37)),
    ({"OpenStack-API-Version": "compute 2.10", "X-OpenStack-Nova-API-Version": "2.5"},
     Version(2, 10)),
    ({"OpenStack-API-Version": "image 2.5"}, MIN),
], ids=["none", "new-header", "among-others", "latest", "legacy", "new-wins", "other-service"])
def test_the_requested_version(headers: dict[str, str], expected: Version) -> None:
    assert requested(headers) == expected


def test_versions_compare_as_numbers_not_text() -> None:
    assert Version(2, 9) < Version(2, 10) < Version(2, 100)


@pytest.mark.parametrize(("text", "error"), [
    ("3.0", NotAcceptable), ("2.0", NotAcceptable), ("2.101", NotAcceptable),
    ("2", BadRequest), ("two.one", BadRequest), ("2.1.1", BadRequest), ("-2.1", BadRequest),
])
def test_outside_the_range_is_406_and_nonsense_is_400(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        requested({"OpenStack-API-Version": f"compute {text}"})


def test_answers_echo_the_version_in_both_headers() -> None:
    headers = response_headers(Version(2, 69))
    assert headers["OpenStack-API-Version"] == "compute 2.69"
    assert headers["X-OpenStack-Nova-API-Version"] == "2.69"
    assert "OpenStack-API-Version" in headers["Vary"]
