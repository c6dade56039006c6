"""Retry settings are checked when the object is built, naming the field, on every class that has them.

A negative, NaN or infinite wait, or a negative or fractional retry count, used to surface later as
an obscure `TypeError`, a raise in the middle of a sync run or an async hang.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from agno_deepinfra import DeepInfra, DeepInfraEmbedder, DeepInfraReranker, DeepInfraTools

OWNERS: dict[str, Callable[..., Any]] = {
    "DeepInfra": lambda **kwargs: DeepInfra(api_key="k", **kwargs),
    "DeepInfraEmbedder": lambda **kwargs: DeepInfraEmbedder(api_key="k", **kwargs),
    "DeepInfraReranker": lambda **kwargs: DeepInfraReranker(api_key="k", **kwargs),
    "DeepInfraTools": lambda **kwargs: DeepInfraTools(api_key="k", **kwargs),
}

WAITS = ("delay_between_retries", "max_retry_delay", "retry_jitter")
BAD = [
    ("retries", -1, "retries must be a whole number >= 0, got -1"),
    ("retries", 1.5, "retries must be a whole number >= 0, got 1.5"),
    ("retries", None, "retries must be a whole number >= 0, got None"),
    ("retries", True, "retries must be a whole number >= 0, got True"),
    *[(name, value, f"{name} must be a finite number >= 0") for name in WAITS for value in (-1, math.nan, math.inf)],
    *[(name, "1", f"{name} must be a finite number >= 0") for name in WAITS],
]


@pytest.mark.parametrize("owner", OWNERS.values(), ids=OWNERS.keys())
@pytest.mark.parametrize(("field", "value", "message"), BAD, ids=[f"{field}={value!r}" for field, value, _ in BAD])
def test_a_bad_retry_setting_is_refused_at_construction_naming_the_field(
    owner: Callable[..., Any], field: str, value: Any, message: str
) -> None:
    if owner is OWNERS["DeepInfraReranker"] and value in (True, "1"):  # pydantic's lax mode makes them 1 and 1.0
        assert getattr(owner(**{field: value}), field) == 1
        return
    with pytest.raises(ValueError, match=field) as caught:
        owner(**{field: value})
    if owner is not OWNERS["DeepInfraReranker"]:  # pydantic words the reranker's, naming the field too
        assert str(caught.value).startswith(message)
        assert repr(value) in str(caught.value)


@pytest.mark.parametrize("owner", OWNERS.values(), ids=OWNERS.keys())
def test_good_retry_settings_are_accepted(owner: Callable[..., Any]) -> None:
    built = owner(retries=3, delay_between_retries=0, max_retry_delay=0.5, retry_jitter=0.1)
    assert (built.retries, built.delay_between_retries, built.max_retry_delay) == (3, 0, 0.5)
    built = owner(retries=0, delay_between_retries=2.5, max_retry_delay=120, retry_jitter=0)
    assert built.max_retry_delay == 120


@pytest.mark.parametrize("owner", ["DeepInfra", "DeepInfraEmbedder", "DeepInfraReranker", "DeepInfraTools"])
def test_the_four_classes_declare_the_retry_settings_alike(owner: str) -> None:
    """One list (`RETRY_DEFAULTS`): every class has each setting, with the same default and a docstring entry."""
    import agno_deepinfra
    from agno_deepinfra._shared.retry import RETRY_DEFAULTS, RetrySettings

    cls = getattr(agno_deepinfra, owner)
    built = cls(api_key="k")
    assert {name: getattr(built, name) for name in RETRY_DEFAULTS} == RETRY_DEFAULTS
    assert set(RetrySettings.__annotations__) == set(RETRY_DEFAULTS)
    documented = (cls.__doc__ or "") + (cls.__init__.__doc__ or "")
    assert [name for name in RETRY_DEFAULTS if f"{name}:" not in documented] == []
