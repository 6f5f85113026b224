"""What a subscription may be (its URL, secret, patterns, project) and which
events it matches."""

from __future__ import annotations

from typing import Any

import pytest

from api.hooks.errors import BadSubscription
from api.hooks.subscriptions import Subscription, checked

SECRET = "x" * 16


@pytest.mark.parametrize(("url", "allow_http"), [
    ("https://hooks.example.com/in", False),
    ("http://127.0.0.1:8080/in", False),
    ("http://[::1]/in", False),
    ("http://localhost/in", False),
    ("http://hooks.example.com/in", True),
], ids=["https", "http-loopback-v4", "http-loopback-v6", "http-localhost", "http-allowed"])
def test_a_url_is_https_or_http_to_loopback_unless_allowed(url: str, allow_http: bool) -> None:
    assert checked(url, SECRET, None, "", allow_http) == (url, SECRET, ("*",), "")


@pytest.mark.parametrize(("url", "secret", "events", "project", "needle"), [
    ("http://hooks.example.com/in", SECRET, None, "", "https://"),
    ("http://10.0.0.5/in", SECRET, None, "", "https://"),
    ("ftp://hooks.example.com/in", SECRET, None, "", "https://"),
    ("https:///in", SECRET, None, "", "with a host"),
    ("https://u:p@hooks.example.com/", SECRET, None, "", "user or password"),
    ("https://h.example.com/" + "a" * 3000, SECRET, None, "", "at most"),
    (None, SECRET, None, "", "url"),
    ("https://h.example.com/", "short", None, "", "secret"),
    ("https://h.example.com/", "x" * 15 + "\n", None, "", "secret"),
    ("https://h.example.com/", SECRET, [], "", "events"),
    ("https://h.example.com/", SECRET, "instance.*", "", "events"),
    ("https://h.example.com/", SECRET, ["instance.[a]"], "", "events"),
    ("https://h.example.com/", SECRET, ["*"] * 33, "", "events"),
    ("https://h.example.com/", SECRET, None, "a b", "project"),
    ("https://h.example.com/", SECRET, None, 7, "project"),
], ids=["http-remote", "http-private", "ftp", "no-host", "credentials", "long", "none",
        "short-secret", "unprintable-secret", "no-patterns", "patterns-text", "bracket",
        "many-patterns", "project-space", "project-number"])
def test_a_bad_field_is_refused_saying_which(url: Any, secret: Any, events: Any,
                                             project: Any, needle: str) -> None:
    with pytest.raises(BadSubscription, match=needle):
        checked(url, secret, events, project, allow_http=False)


def subscription(project: str = "", events: tuple[str, ...] = ("*",)) -> Subscription:
    return Subscription("s1", project, "https://h.example.com/", SECRET, events, "u", 0.0)


@pytest.mark.parametrize(("sub", "event_type", "project", "expected"), [
    (subscription(), "instance.pause.end", "shop", True),
    (subscription(), "host.down", "", True),
    (subscription("shop"), "instance.pause.end", "shop", True),
    (subscription("shop"), "instance.pause.end", "lab", False),
    (subscription("shop"), "host.down", "", False),
    (subscription(events=("instance.*.end",)), "instance.pause.end", "shop", True),
    (subscription(events=("instance.*.end",)), "instance.pause.start", "shop", False),
    (subscription(events=("host.*", "instance.delete.end")), "instance.delete.end", "", True),
    (subscription(events=("instance.create.?nd",)), "instance.create.end", "", True),
], ids=["all", "tree-event", "own-project", "other-project", "project-scope-no-tree-events",
        "glob", "glob-miss", "second-pattern", "question-mark"])
def test_an_event_matches_by_project_and_pattern(sub: Subscription, event_type: str,
                                                 project: str, expected: bool) -> None:
    assert sub.matches(event_type, project) is expected
