from __future__ import annotations

import pytest

from gofka import Message


def test_fields() -> None:
    m = Message("t", 2, 41, b"value", {"h": b"1"}, 1700000000.25, key=b"k")
    assert m.topic == "t"
    assert m.partition == 2
    assert m.offset == 41
    assert m.value == b"value"
    assert m.headers == {"h": b"1"}
    assert m.timestamp == 1700000000.25
    assert m.key == b"k"


def test_defaults() -> None:
    m = Message("t", 0, 0, None)
    assert m.value is None
    assert m.key is None
    assert m.headers == {}
    assert m.timestamp == 0.0
    # each message gets its own headers dict
    m.headers["x"] = b"y"
    assert Message("t", 0, 0, None).headers == {}


def test_slots() -> None:
    m = Message("t", 0, 0, b"")
    with pytest.raises(AttributeError):
        m.other = 1  # type: ignore[attr-defined]


def test_repr_is_useful_and_truncated() -> None:
    m = Message("orders", 3, 17, b"x" * 1000, key=b"id-1")
    text = repr(m)
    assert text.startswith("Message(")
    assert "topic='orders'" in text
    assert "partition=3" in text
    assert "offset=17" in text
    assert "id-1" in text
    assert "1000 bytes" in text
    assert len(text) < 300
    assert "value=b'short'" in repr(Message("t", 0, 0, b"short"))
    assert "value=None" in repr(Message("t", 0, 0, None))


def test_eq() -> None:
    a = Message("t", 0, 5, b"v", {"h": b"1"}, 1.5, key=b"k")
    b = Message("t", 0, 5, b"v", {"h": b"1"}, 1.5, key=b"k")
    assert a == b
    assert not (a != b)
    assert a != Message("t", 0, 6, b"v", {"h": b"1"}, 1.5, key=b"k")
    assert a != Message("t", 0, 5, b"v", {"h": b"1"}, 1.5, key=b"other")
    assert a != Message("t", 0, 5, b"w", {"h": b"1"}, 1.5, key=b"k")
    assert a != Message("t", 0, 5, b"v", {}, 1.5, key=b"k")
    assert a != "not a message"


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Message("t", 0, 0, b""))
