"""Client options of the `cellrouter` command go before the verb or after it."""

from __future__ import annotations

import pytest

from cellops.cli import _parser
from cellops.cli_common import CLIENT_TIMEOUT, DEFAULT_CELL


@pytest.mark.parametrize("argv", [
    ["--cell", "10.0.0.1:5000", "--json", "--timeout", "3", "tree"],
    ["tree", "--cell", "10.0.0.1:5000", "--json", "--timeout", "3"],
    ["--cell", "10.0.0.1:5000", "tree", "--json", "--timeout", "3"],
    ["--json", "show", "--timeout", "3", "--cell", "10.0.0.1:5000",
     "00000000-0000-4000-8000-000000000000"],
], ids=["before", "after", "split", "around-the-argument"])
def test_client_options_count_wherever_they_are(argv: list[str]) -> None:
    args = _parser().parse_args(argv)
    assert (args.cell, args.json, args.timeout) == ("10.0.0.1:5000", True, 3.0)


def test_an_option_after_the_verb_wins_over_the_same_one_before() -> None:
    args = _parser().parse_args(["--cell", "a:1", "list", "--cell", "b:2"])
    assert args.cell == "b:2"


def test_defaults_without_any_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CELLROUTER_CELL", raising=False)
    args = _parser().parse_args(["tree"])
    assert (args.cell, args.json, args.token) == (DEFAULT_CELL, False, "")
    assert args.timeout is None  # the command's own default applies: CLIENT_TIMEOUT
    assert CLIENT_TIMEOUT == 30.0


def test_up_has_its_own_wait_and_plugins_its_json() -> None:
    assert _parser().parse_args(["up", "t.toml"]).timeout is None
    assert _parser().parse_args(["up", "t.toml", "--timeout", "90"]).timeout == 90.0
    assert _parser().parse_args(["--json", "plugins"]).json is True
    assert _parser().parse_args(["plugins", "--json"]).json is True
