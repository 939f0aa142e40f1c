"""connect() of the consumers (documented in the seed API): it reaches the
cluster eagerly, or raises ConnectionError naming the broker."""

from __future__ import annotations

import asyncio

import pytest

import gofka


def test_consumer_connect(brokers: str, topic: str) -> None:
    with gofka.Consumer(brokers, "g-" + topic, [topic], timeout=15) as consumer:
        consumer.connect()
        consumer.connect()  # again: a no-op
    with gofka.Consumer("127.0.0.1:1", "g", ["t"], timeout=2) as consumer:
        with pytest.raises(gofka.ConnectionError) as exc:
            consumer.connect()
        assert "127.0.0.1:1" in str(exc.value)


def test_async_consumer_connect(brokers: str, topic: str) -> None:
    async def main() -> None:
        consumer = gofka.AsyncConsumer(brokers, "g-" + topic, [topic], timeout=15)
        try:
            await consumer.connect()
        finally:
            await consumer.close()
        consumer = gofka.AsyncConsumer("127.0.0.1:1", "g", ["t"], timeout=2)
        try:
            with pytest.raises(gofka.ConnectionError):
                await consumer.connect()
        finally:
            await consumer.close()

    asyncio.run(main())
