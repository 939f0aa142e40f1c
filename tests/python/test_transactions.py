"""Transactions from Python (docs/transactions.md): Producer and
AsyncProducer with transactional_id, Consumer.group_metadata() and
send_offsets_to_transaction, on the test cluster (the dev cluster, or a
real Kafka with GOFKA_BROKERS).

Reads are bounded and deterministic: after the records under test, a
committed transaction writes an END marker to every partition, and a
reader stops once it saw every partition's marker (read_committed and
read_uncommitted readers alike see it), so "not there" is checked without
waiting for a silence."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Dict, List, Tuple

import pytest

import gofka
from gofka import AsyncConsumer, AsyncProducer, Consumer, GroupMetadata, Producer, TopicPartition
from gofka.exceptions import (GofkaError, ProduceError, TransactionAbortableError, TransactionFatalError)

pytestmark = pytest.mark.timeout(240)

END = b"END"


def new_topic(brokers: str, partitions: int = 1) -> str:
    name = "gofka-pytxn-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    return name


def txn_producer(brokers: str, txn_id: str = "", **kw: Any) -> Producer:
    p = Producer(brokers, timeout=20, transactional_id=txn_id or "tx-" + uuid.uuid4().hex[:12], **kw)
    p.init_transactions(30)
    return p


def write_ends(p: Producer, topic: str, partitions: int) -> None:
    # produce: commit_transaction sends them (whatever linger_ms says).
    with p.transaction(30):
        for part in range(partitions):
            p.produce(topic, END, partition=part)


def read_until_ends(brokers: str, topic: str, partitions: int, isolation: str) -> List[Tuple[int, bytes]]:
    """(partition, value) of every record before the END markers, in
    partition order, read with ``isolation``; fails after 60 s."""
    got: List[Tuple[int, bytes]] = []
    ended = set()
    deadline = time.monotonic() + 60
    with Consumer(brokers, None, None, timeout=20, isolation_level=isolation) as c:
        c.assign([(topic, part) for part in range(partitions)])
        for part in range(partitions):
            c.seek(topic, part, gofka.OFFSET_BEGINNING)
        while len(ended) < partitions:
            assert time.monotonic() < deadline, "END markers not all read: %s" % sorted(ended)
            for m in c.poll(500, 0.5):
                if m.value == END:
                    ended.add(m.partition)
                elif m.partition not in ended:
                    got.append((m.partition, m.value))
    return sorted(got)


def values(records: List[Tuple[int, bytes]]) -> List[bytes]:
    return sorted(v for _, v in records)


def produce_input(brokers: str, topic: str, count: int, partitions: int) -> None:
    with Producer(brokers, timeout=20) as p:
        for part in range(partitions):
            p.send_batch(topic, [str(i).encode() for i in range(count) if i % partitions == part], partition=part)


# ---- commit and abort --------------------------------------------------------


def test_commit_is_visible_to_read_committed_and_abort_is_not(brokers: str) -> None:
    topic = new_topic(brokers, 2)
    p = txn_producer(brokers)
    try:
        delivered: List[Any] = []
        p.begin_transaction()
        # Every send path joins the transaction.
        p.send(topic, b"c-send", partition=0)
        p.send_string(topic, "c-string", partition=1)
        p.send_batch(topic, [b"c-batch1", b"c-batch2"], partition=1)
        p.produce(topic, b"c-produce", partition=0, on_delivery=lambda err, msg: delivered.append(err))
        p.commit_transaction(30)
        assert p.flush(10) == 0 and delivered == [None]

        p.begin_transaction()
        p.send(topic, b"a-send", partition=0)
        p.send_batch(topic, [b"a-batch"], partition=1)
        p.abort_transaction(30)
        write_ends(p, topic, 2)
    finally:
        p.close()
    committed = [b"c-batch1", b"c-batch2", b"c-produce", b"c-send", b"c-string"]
    assert values(read_until_ends(brokers, topic, 2, "read_committed")) == committed
    assert values(read_until_ends(brokers, topic, 2, "read_uncommitted")) == sorted(committed + [b"a-batch", b"a-send"])


def test_abort_fails_produce_records_not_sent(brokers: str) -> None:
    # produce() records still buffered when the transaction aborts are
    # failed (their callbacks say so), never written in a later one.
    topic = new_topic(brokers)
    p = txn_producer(brokers, linger_ms=60000)  # nothing leaves before the abort
    try:
        errors: List[Any] = []
        p.begin_transaction()
        for i in range(20):
            p.produce(topic, b"x%d" % i, partition=0, on_delivery=lambda err, msg: errors.append(err))
        p.abort_transaction(30)
        assert p.flush(10) == 0
        assert [getattr(e, "name", e) for e in errors] == ["OPERATION_NOT_ATTEMPTED"] * 20, errors
        write_ends(p, topic, 1)
    finally:
        p.close()
    assert read_until_ends(brokers, topic, 1, "read_uncommitted") == []


def test_commit_includes_records_the_push_thread_is_handing_over(brokers: str, hold_push: Any) -> None:
    # The push thread took the transaction's produce() records from the
    # Python buffer but has not handed them to the library yet when
    # commit_transaction starts. The commit must wait for them: it used to
    # see an empty buffer and commit at once, the records then reached the
    # library after the transaction and failed (INVALID_TXN_STATE) while
    # the commit had succeeded, offsets included (the exactly-once test
    # lost a transaction's output that way under CPU load).
    topic = new_topic(brokers)
    p = txn_producer(brokers)
    try:
        held = hold_push(p)
        p.begin_transaction()
        errors = held.produce_held(topic, b"r")
        call = p._call_sliced

        def released_after_commit(fn: Any, *args: Any) -> None:
            call(fn, *args)
            if getattr(fn, "__name__", "") == "gofka_producer_commit_transaction":
                held.release.set()  # the push now comes after the commit

        p._call_sliced = released_after_commit  # type: ignore[method-assign]
        p.commit_transaction(30)
        held.release.set()
        assert p.flush(10) == 0
        assert errors == [None] * 10, errors
        write_ends(p, topic, 1)
    finally:
        p.close()
    assert values(read_until_ends(brokers, topic, 1, "read_committed")) == sorted(b"r%d" % i for i in range(10))


def test_abort_includes_records_the_push_thread_is_handing_over(brokers: str, hold_push: Any) -> None:
    # As above for abort_transaction: records the push thread still holds
    # belong to the aborted transaction, never to the next one.
    topic = new_topic(brokers)
    p = txn_producer(brokers)
    try:
        held = hold_push(p)
        p.begin_transaction()
        errors = held.produce_held(topic, b"a")
        p.abort_transaction(30)
        p.begin_transaction()
        held.release.set()  # the push now comes in the next transaction
        deadline = time.monotonic() + 20
        while len(errors) < 10 and time.monotonic() < deadline:
            p.poll(0.1)
        p.produce(topic, b"next", partition=0)
        p.commit_transaction(30)
        assert p.flush(10) == 0
        write_ends(p, topic, 1)
    finally:
        p.close()
    assert values(read_until_ends(brokers, topic, 1, "read_committed")) == [b"next"]


def test_transaction_context_manager_commits_and_aborts(brokers: str) -> None:
    topic = new_topic(brokers)
    p = txn_producer(brokers)
    try:
        with p.transaction() as same:
            assert same is p
            p.send(topic, b"kept", partition=0)
        with pytest.raises(RuntimeError, match="boom"):
            with p.transaction():
                p.send(topic, b"dropped", partition=0)
                raise RuntimeError("boom")
        # Aborted, and ready for the next one.
        with p.transaction():
            p.send(topic, b"kept2", partition=0)
        write_ends(p, topic, 1)
    finally:
        p.close()
    assert values(read_until_ends(brokers, topic, 1, "read_committed")) == [b"kept", b"kept2"]
    assert values(read_until_ends(brokers, topic, 1, "read_uncommitted")) == [b"dropped", b"kept", b"kept2"]


def test_transactional_id_through_config(brokers: str) -> None:
    topic = new_topic(brokers)
    with Producer(brokers, timeout=20, config={"transactional.id": "tx-cfg-" + uuid.uuid4().hex[:8],
                                              "transaction.timeout.ms": 30000}) as p:
        p.init_transactions(30)
        with p.transaction():
            p.send(topic, b"v", partition=0)
        write_ends(p, topic, 1)
    assert values(read_until_ends(brokers, topic, 1, "read_committed")) == [b"v"]


# ---- offsets in a transaction ------------------------------------------------


def test_send_offsets_commits_the_groups_offsets_with_the_transaction(brokers: str) -> None:
    src, dst = new_topic(brokers), new_topic(brokers)
    produce_input(brokers, src, 10, 1)
    group = "g-" + src
    tp = TopicPartition(src, 0)
    p = txn_producer(brokers)
    try:
        with Consumer(brokers, group, [src], auto_commit=False, timeout=20, session_timeout=6000,
                      heartbeat_interval_ms=300) as c:
            msgs: List[gofka.Message] = []
            deadline = time.monotonic() + 60
            while len(msgs) < 5:
                assert time.monotonic() < deadline
                msgs += c.poll(5 - len(msgs), 0.5)
            md = c.group_metadata()
            assert isinstance(md, GroupMetadata) and md.group_id == group
            assert md.generation_id >= 0 and md.member_id  # a member of the group now

            # Aborted: the offsets are not committed.
            p.begin_transaction()
            p.send_offsets_to_transaction({tp: 3}, c.group_metadata())
            p.abort_transaction()
            assert c.committed([tp]) == {tp: None}

            # Committed with the transaction; (topic, partition) keys too.
            with p.transaction():
                for m in msgs:
                    p.send(dst, m.value, partition=0)
                p.send_offsets_to_transaction({(src, 0): msgs[-1].offset + 1}, c.group_metadata())
            assert c.committed([tp]) == {tp: 5}
        # A new member of the group starts after the committed offsets.
        with Consumer(brokers, group, [src], auto_commit=False, timeout=20, session_timeout=6000) as c2:
            first: List[gofka.Message] = []
            deadline = time.monotonic() + 60
            while not first:
                assert time.monotonic() < deadline
                first = c2.poll(1, 0.5)
            assert first[0].offset == 5
        write_ends(p, dst, 1)
    finally:
        p.close()
    assert values(read_until_ends(brokers, dst, 1, "read_committed")) == [b"0", b"1", b"2", b"3", b"4"]


def test_group_metadata_of_a_consumer_without_group(brokers: str) -> None:
    with Consumer(brokers, None, None, timeout=20) as c:
        with pytest.raises(GofkaError) as info:
            c.group_metadata()
        assert info.value.name == "INVALID_ARGUMENT" and "group.id" in str(info.value)
    closed = Consumer(brokers, "g-closed", None, timeout=20)
    md = closed.group_metadata()
    assert (md.group_id, md.generation_id, md.member_id, md.group_instance_id) == ("g-closed", -1, "", None)
    with pytest.raises(AttributeError):
        md.group_id = "other"  # type: ignore[misc]
    closed.close()
    with pytest.raises(GofkaError) as info:
        closed.group_metadata()
    assert info.value.name == "CLIENT_CLOSED"


def test_stale_group_metadata_is_an_abortable_error(brokers: str) -> None:
    # The coordinator refuses the offsets of a member whose generation
    # is not the group's (KIP-447 zombie fencing): the transaction must
    # be aborted, and the producer goes on.
    src, dst = new_topic(brokers), new_topic(brokers)
    produce_input(brokers, src, 3, 1)
    group = "g-" + src
    p = txn_producer(brokers)
    try:
        with Consumer(brokers, group, [src], auto_commit=False, timeout=20, session_timeout=6000,
                      heartbeat_interval_ms=300) as c:
            deadline = time.monotonic() + 60
            while not c.poll(1, 0.5):
                assert time.monotonic() < deadline
            md = c.group_metadata()
            stale = GroupMetadata(md.serialized.replace(b'"generation_id":%d' % md.generation_id,
                                                        b'"generation_id":%d' % (md.generation_id + 7)))
            assert stale.generation_id == md.generation_id + 7
            p.begin_transaction()
            p.send(dst, b"zombie", partition=0)
            with pytest.raises(TransactionAbortableError) as info:
                p.send_offsets_to_transaction({(src, 0): 1}, stale)
            assert "ILLEGAL_GENERATION" in str(info.value), info.value
            with pytest.raises(TransactionAbortableError):
                p.commit_transaction()  # until the abort, the same error
            p.abort_transaction()
            with p.transaction():
                p.send(dst, b"ok", partition=0)
                p.send_offsets_to_transaction({(src, 0): 1}, c.group_metadata())
            assert c.committed([(src, 0)]) == {TopicPartition(src, 0): 1}
        write_ends(p, dst, 1)
    finally:
        p.close()
    assert values(read_until_ends(brokers, dst, 1, "read_committed")) == [b"ok"]


# ---- fencing -----------------------------------------------------------------


def test_second_producer_with_the_same_id_fences_the_first(brokers: str) -> None:
    topic = new_topic(brokers)
    txn_id = "tx-fence-" + uuid.uuid4().hex[:8]
    p1 = txn_producer(brokers, txn_id)
    p2 = None
    try:
        p1.begin_transaction()
        p1.send(topic, b"zombie", partition=0)
        p2 = txn_producer(brokers, txn_id)  # aborts p1's open transaction
        # The partition leader refuses p1's epoch (INVALID_PRODUCER_EPOCH),
        # which it cannot tell from a transaction that outlived its timeout:
        # abortable, as in the Java client (KIP-588). The coordinator then
        # fences the abort.
        with pytest.raises(TransactionAbortableError) as info:
            p1.send(topic, b"zombie2", partition=0)
            p1.commit_transaction(30)
        assert isinstance(info.value, ProduceError) and not info.value.retriable
        assert "INVALID_PRODUCER_EPOCH" in str(info.value)
        with pytest.raises(TransactionFatalError) as fenced:
            p1.abort_transaction(30)
        assert "PRODUCER_FENCED" in str(fenced.value)
        # It can do nothing more: every call raises it again.
        for call in (lambda: p1.commit_transaction(10), lambda: p1.abort_transaction(10), p1.begin_transaction,
                     lambda: p1.send(topic, b"z", partition=0), lambda: p1.init_transactions(10)):
            with pytest.raises(TransactionFatalError):
                call()
        # The context manager does not try to abort a fenced producer.
        with pytest.raises(TransactionFatalError):
            with p1.transaction():
                pass
        with p2.transaction():
            p2.send(topic, b"new", partition=0)
        write_ends(p2, topic, 1)
    finally:
        p1.close()
        if p2 is not None:
            p2.close()
    assert values(read_until_ends(brokers, topic, 1, "read_committed")) == [b"new"]


# ---- bad input ---------------------------------------------------------------


def test_bad_arguments(brokers: str) -> None:
    for kw, exc in ((dict(transactional_id=5), TypeError), (dict(transactional_id=""), ValueError),
                    (dict(transactional_id="t", acks=1), ValueError),
                    (dict(transactional_id="t", enable_idempotence=False), ValueError),
                    (dict(transactional_id="t", transaction_timeout_ms="60s"), TypeError),
                    (dict(transactional_id="t", transaction_timeout_ms=-1), ValueError)):
        with pytest.raises(exc):
            Producer(brokers, **kw)
        with pytest.raises(exc):
            AsyncProducer(brokers, **kw)
    # The engine's own check, through config=.
    with pytest.raises(GofkaError) as info:
        Producer(brokers, config={"transactional.id": "t", "enable.idempotence": False})
    assert info.value.name == "INVALID_ARGUMENT"


def test_calls_out_of_order(brokers: str) -> None:
    topic = new_topic(brokers)
    with Producer(brokers, timeout=20, transactional_id="tx-order-" + uuid.uuid4().hex[:8]) as p:
        for call in (p.begin_transaction, lambda: p.commit_transaction(5), lambda: p.abort_transaction(5)):
            with pytest.raises(ProduceError) as info:
                call()  # before init_transactions
            assert info.value.name == "INVALID_TXN_STATE", info.value
        p.init_transactions(30)
        with pytest.raises(ProduceError) as info:
            p.commit_transaction(5)  # no transaction open
        assert info.value.name == "INVALID_TXN_STATE"
        with pytest.raises(ProduceError) as info:
            p.send(topic, b"x", partition=0)  # outside a transaction
        assert info.value.name == "INVALID_TXN_STATE"
        p.begin_transaction()
        with pytest.raises(ProduceError) as info:
            p.begin_transaction()  # one is open
        assert info.value.name == "INVALID_TXN_STATE"
        with Consumer(brokers, "g-" + topic, None, timeout=20) as c:
            md = c.group_metadata()
            for offsets, g, exc in (([((topic, 0), 1)], md, TypeError), ({(topic, 0): 1}, {"group_id": "g"}, TypeError),
                                    ({(topic, 0): -1}, md, ValueError), ({(topic, 0): True}, md, TypeError),
                                    ({(topic, 0): "1"}, md, TypeError), ({(topic, -1): 1}, md, ValueError),
                                    ({("", 0): 1}, md, ValueError), ({topic: 1}, md, TypeError)):
                with pytest.raises(exc):
                    p.send_offsets_to_transaction(offsets, g)  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                p.send_offsets_to_transaction({(topic, 0): 1}, md, timeout=-1)
        with pytest.raises(ValueError):
            p.commit_transaction(timeout=-1)
        p.abort_transaction(30)
    with Producer(brokers, timeout=20) as plain:
        with pytest.raises(GofkaError) as info:
            plain.init_transactions(5)
        assert info.value.name == "INVALID_ARGUMENT" and "transactional.id" in str(info.value)
        with pytest.raises(GofkaError) as info:
            plain.begin_transaction()
        assert info.value.name == "INVALID_ARGUMENT"
    with pytest.raises(GofkaError) as info:
        plain.begin_transaction()
    assert info.value.name == "CLIENT_CLOSED"


# ---- consume-transform-produce -----------------------------------------------


def test_consume_transform_produce_is_exactly_once(brokers: str) -> None:
    # 3 input partitions, 3,000 records, 1 member, a transaction per 100
    # records; every 7th transaction is aborted after its records and
    # offsets were sent, and the input is rewound to the committed offsets
    # (the error-handling loop of docs/transactions.md).
    n, parts = 3000, 3
    src, dst = new_topic(brokers, parts), new_topic(brokers, parts)
    produce_input(brokers, src, n, parts)
    group = "g-" + src
    p = txn_producer(brokers)
    aborted = 0
    try:
        with Consumer(brokers, group, [src], auto_commit=False, timeout=20, isolation_level="read_committed",
                      session_timeout=6000, heartbeat_interval_ms=300) as c:
            done: Dict[int, int] = {}  # partition -> next offset committed
            txns = 0
            deadline = time.monotonic() + 180
            while sum(done.values()) < n:
                assert time.monotonic() < deadline, done
                msgs = c.poll(100, 0.5)
                if not msgs:
                    continue
                txns += 1
                offsets: Dict[Tuple[str, int], int] = {}
                p.begin_transaction()
                try:
                    for m in msgs:
                        p.produce(dst, b"out-" + m.value, partition=m.partition)
                        offsets[(m.topic, m.partition)] = m.offset + 1
                    p.send_offsets_to_transaction(offsets, c.group_metadata())
                    if txns % 7 == 0:
                        # Written first (flush), so that the abort has
                        # output to hide: without it the records could
                        # still be buffered and fail unsent (Kafka 3.9's
                        # transaction protocol v1 took that path in CI).
                        assert p.flush(30) == 0
                        raise TransactionAbortableError("injected: abort this one")
                    p.commit_transaction()
                except TransactionAbortableError:
                    aborted += 1
                    p.abort_transaction()
                    committed = c.committed([tp for tp in offsets])
                    for tp, off in committed.items():
                        c.seek(tp.topic, tp.partition, gofka.OFFSET_BEGINNING if off is None else off)
                    continue
                for (_, part), off in offsets.items():
                    done[part] = off
            assert p.flush(30) == 0
        write_ends(p, dst, parts)
    finally:
        p.close()
    assert aborted > 0
    out = [v for _, v in read_until_ends(brokers, dst, parts, "read_committed")]
    assert len(out) == n
    assert sorted(out) == sorted(b"out-%d" % i for i in range(n))
    raw = [v for _, v in read_until_ends(brokers, dst, parts, "read_uncommitted")]
    assert len(raw) > n  # the aborted transactions' output was written, and hidden


# ---- AsyncProducer -----------------------------------------------------------


def run(coro: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 120))
    finally:
        loop.close()


def test_async_commit_abort_and_context_manager(brokers: str) -> None:
    topic = new_topic(brokers, 2)
    txn_id = "tx-async-" + uuid.uuid4().hex[:8]

    async def main() -> None:
        async with AsyncProducer(brokers, timeout=20, transactional_id=txn_id, linger_ms=5) as p:
            await p.init_transactions(30)
            await p.begin_transaction()
            await p.send(topic, b"c-send", partition=0)
            futs = [p.send(topic, b"c-batch", partition=1)]
            await p.send_batch(topic, [b"c-b1", b"c-b2"], partition=0)
            await p.commit_transaction(30)  # flushes the send not awaited yet
            assert all(f.done() for f in futs)

            await p.begin_transaction()
            await p.send(topic, b"a-send", partition=0)
            await p.abort_transaction(30)

            async with p.transaction() as same:
                assert same is p
                await p.send(topic, b"cm", partition=1)
            with pytest.raises(RuntimeError):
                async with p.transaction():
                    await p.send(topic, b"cm-dropped", partition=1)
                    raise RuntimeError("boom")
            async with p.transaction():
                for part in range(2):
                    await p.send(topic, END, partition=part)

    run(main())
    committed = [b"c-b1", b"c-b2", b"c-batch", b"c-send", b"cm"]
    assert values(read_until_ends(brokers, topic, 2, "read_committed")) == committed
    assert values(read_until_ends(brokers, topic, 2, "read_uncommitted")) == sorted(
        committed + [b"a-send", b"cm-dropped"])


def test_async_send_offsets_and_fencing(brokers: str) -> None:
    src, dst = new_topic(brokers), new_topic(brokers)
    produce_input(brokers, src, 4, 1)
    group = "g-" + src
    txn_id = "tx-async-f-" + uuid.uuid4().hex[:8]

    async def main() -> None:
        c = AsyncConsumer(brokers, group, [src], auto_commit=False, timeout=20, session_timeout=6000,
                          heartbeat_interval_ms=300)
        p = AsyncProducer(brokers, timeout=20, transactional_id=txn_id)
        try:
            msgs: List[gofka.Message] = []
            deadline = time.monotonic() + 60
            while len(msgs) < 4:
                assert time.monotonic() < deadline
                msgs += await c.poll(4 - len(msgs), 0.5)
            md = c.group_metadata()  # plain: it never waits
            assert isinstance(md, GroupMetadata) and md.group_id == group
            await p.init_transactions(30)
            async with p.transaction():
                for m in msgs:
                    await p.send(dst, m.value, partition=0)
                await p.send_offsets_to_transaction({TopicPartition(src, 0): msgs[-1].offset + 1}, md)
            assert await c.committed([(src, 0)]) == {TopicPartition(src, 0): 4}

            # A second producer with the same id fences this one.
            await p.begin_transaction()
            p2 = AsyncProducer(brokers, timeout=20, transactional_id=txn_id)
            try:
                await p2.init_transactions(30)
                # The zombie's first record of the transaction: on
                # transaction protocol v1 its partition must first be added
                # (AddPartitionsToTxn), which the coordinator refuses at
                # once (fatal); on v2 the partition leader refuses the epoch
                # (abortable, see the sync test above) and the coordinator
                # fences the abort.
                try:
                    await p.send(dst, b"zombie", partition=0)
                except TransactionAbortableError as exc:
                    assert "INVALID_PRODUCER_EPOCH" in str(exc)
                    with pytest.raises(TransactionAbortableError):
                        await p.commit_transaction(10)
                    with pytest.raises(TransactionFatalError) as fenced:
                        await p.abort_transaction(10)
                    assert "PRODUCER_FENCED" in str(fenced.value)
                except TransactionFatalError as exc:
                    assert "PRODUCER_FENCED" in str(exc) and "AddPartitionsToTxn" in str(exc)
                else:
                    raise AssertionError("the fenced producer's send succeeded")
                with pytest.raises(TransactionFatalError):
                    await p.commit_transaction(10)
                with pytest.raises(TransactionFatalError):
                    await p.begin_transaction()
                async with p2.transaction():
                    await p2.send(dst, END, partition=0)
            finally:
                await p2.close()
        finally:
            await p.close()
            await c.close()

    run(main())
    assert values(read_until_ends(brokers, dst, 1, "read_committed")) == [b"0", b"1", b"2", b"3"]


def test_async_bad_input(brokers: str) -> None:
    async def main() -> None:
        async with AsyncProducer(brokers, timeout=20, transactional_id="tx-ab-" + uuid.uuid4().hex[:8]) as p:
            with pytest.raises(ProduceError) as info:
                await p.begin_transaction()
            assert info.value.name == "INVALID_TXN_STATE"
            with pytest.raises(TypeError):
                await p.send_offsets_to_transaction([], None)  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                await p.commit_transaction(timeout=-1)

    run(main())


def test_timeouts_bound_the_calls_and_the_loop_keeps_running() -> None:
    # No broker: init_transactions fails within its timeout (a loose 3x
    # bound), and the async form lets the event loop run meanwhile.
    with Producer("127.0.0.1:9", timeout=5, transactional_id="tx-nobody") as p:
        start = time.monotonic()
        with pytest.raises(GofkaError) as info:
            p.init_transactions(0.5)
        assert time.monotonic() - start < 1.5
        assert not isinstance(info.value, (TransactionAbortableError, TransactionFatalError)), info.value

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        p = AsyncProducer("127.0.0.1:9", timeout=5, transactional_id="tx-nobody")
        try:
            with pytest.raises(GofkaError):
                await p.init_transactions(0.5)
        finally:
            task.cancel()
            await p.close(0)
        return ticks

    assert run(main()) > 0  # the loop ran while the call waited
