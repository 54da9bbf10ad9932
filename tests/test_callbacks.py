"""Callback data: compact, within 64 bytes, bound to its chat, forgeries rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.callbacks import (
    MAX_BYTES,
    CallbackCodec,
    Feedback,
    InvalidCallback,
    More,
    ShowContext,
    generation_tag,
)

codec = CallbackCodec(b"k" * 32)
BIG = 10**18 - 1


@pytest.mark.parametrize(
    "action",
    [More(1, 3), More(BIG, 60), ShowContext(BIG, BIG, generation_tag("2024")), Feedback(7, 1), Feedback(BIG, -1)],
)
def test_round_trip_within_64_bytes(action) -> None:
    data = codec.encode(-1001234567890, action)
    assert len(data.encode()) <= MAX_BYTES
    assert codec.decode(-1001234567890, data) == action


def test_compact_shape() -> None:
    assert codec.encode(5, More(42, 3)).startswith("m:42:3:")
    assert codec.encode(5, Feedback(42, 1)).startswith("f:42:+:")
    assert codec.encode(5, ShowContext(42, 17, "gen")).startswith("c:42:17:gen:")


def test_other_chat_is_rejected() -> None:
    data = codec.encode(1, More(42, 3))
    with pytest.raises(InvalidCallback):
        codec.decode(2, data)


def test_other_key_is_rejected() -> None:
    data = CallbackCodec(b"other").encode(1, More(42, 3))
    with pytest.raises(InvalidCallback):
        codec.decode(1, data)


@pytest.mark.parametrize(
    "data",
    [None, "", "m:42:3", "m:42:3:AAAAAAAA", "x:1:2:AAAAAAAA", "m:-1:3:AAAAAAAA", "m:01:3:AAAAAAAA",
     "c:1:2:../../:AAAAAAAA", "f:1:*:AAAAAAAA", "m:1:2:AAAAAAAA" + "x" * 60, "m:1:2:ÄAAAAAAA"],
)
def test_malformed_is_rejected(data) -> None:
    with pytest.raises(InvalidCallback):
        codec.decode(1, data)


def test_tampered_payload_is_rejected() -> None:
    data = codec.encode(1, More(42, 3))
    forged = data.replace("m:42:", "m:43:")
    with pytest.raises(InvalidCallback):
        codec.decode(1, forged)


def test_offset_beyond_range_is_rejected() -> None:
    body = "m:1:9999"
    data = f"{body}:{codec._tag(1, body)}"
    with pytest.raises(InvalidCallback):
        codec.decode(1, data)


@given(st.text(max_size=80), st.integers(-(10**13), 10**13))
def test_arbitrary_data_never_crashes(data: str, chat_id: int) -> None:
    try:
        codec.decode(chat_id, data)
    except InvalidCallback:
        pass


def test_generation_tag_changes_with_snapshot() -> None:
    assert generation_tag("a") != generation_tag("b")
    assert generation_tag("a") == generation_tag("a")
