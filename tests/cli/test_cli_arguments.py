"""The CLI's shared argument types refuse what would hang or overflow a command."""

from __future__ import annotations

import argparse

import pytest

from router.cli.arguments import port, positive_int, seconds


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "-1", "x", "1e999"])
def test_seconds_refuses_negative_non_finite_and_garbage(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="finite number of seconds"):
        seconds(text)


@pytest.mark.parametrize(("text", "expected"), [("0", 0.0), ("0.25", 0.25), ("30", 30.0)])
def test_seconds_takes_finite_non_negative_values(text: str, expected: float) -> None:
    assert seconds(text) == expected


def test_positive_int_and_port_refuse_out_of_range_values() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int("0")
    with pytest.raises(argparse.ArgumentTypeError):
        port("70000")
    assert positive_int("3") == 3
