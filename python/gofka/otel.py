"""OpenTelemetry instrumentation of Gofka's producers and consumers.

Optional: this module needs ``opentelemetry-api`` (``pip install
gofka[otel]``); nothing else in the package imports it, so a program that
does not import ``gofka.otel`` pays nothing.

::

    from gofka.otel import GofkaInstrumentor
    GofkaInstrumentor().instrument()          # global tracer/meter providers
    ...
    GofkaInstrumentor().uninstrument()

What it does, following OpenTelemetry's messaging semantic conventions
(``messaging.system = "kafka"``):

* **Producer spans.** ``Producer.send``, ``send_string``, ``send_batch``
  and ``produce``, and ``AsyncProducer.send``, ``send_string`` and
  ``send_batch`` each run in a ``send <topic>`` span of kind PRODUCER. The
  span ends when the record is acknowledged (for ``produce``: when its
  delivery report is served by ``poll``/``flush``/``close``; for
  ``AsyncProducer.send``: when its future completes), with the offset
  (``messaging.kafka.offset``) or the error (``error.type`` and an ERROR
  status). The span's context is injected into the record's headers as
  W3C trace context (``traceparent``, ``tracestate``), by the globally
  configured propagator; the caller's headers are copied, never changed.
* **Consumer spans.** ``Consumer.poll`` and ``AsyncConsumer.poll`` that
  return records make one ``poll <topic>`` span of kind CONSUMER (from
  the call's start to its return) with ``messaging.batch.message_count``
  and a link to the producer span of each record that carries trace
  context (at most :data:`MAX_LINKS`). ``async for`` over an
  ``AsyncConsumer`` makes one such span per record it yields.
  :func:`process_span` wraps the application's handling of one record in a
  ``process <topic>`` span linked to the record's producer span.
* **Metrics** (instruments of the meter ``gofka``):
  ``messaging.client.sent.messages`` and
  ``messaging.client.consumed.messages`` (counters, {message}),
  ``messaging.client.operation.duration`` (histogram, seconds, per call:
  ``send``, ``poll``), ``messaging.process.duration`` (histogram, seconds,
  :func:`process_span`), and ``gofka.client.sent.bytes`` /
  ``gofka.client.consumed.bytes`` (counters, By: key + value bytes; not
  part of the conventions, hence the ``gofka.`` prefix), and the
  observable gauge ``gofka.consumer.lag`` ({message}: high watermark -
  position per assigned partition, from ``stats()`` of each consumer made
  while instrumented). Sent messages are counted when acknowledged, failed
  ones with ``error.type``.

Call ``instrument()`` before creating clients: it wraps the public
methods of the classes, which covers every client, but a producer created
before it keeps its per-record fast path (``Producer.produce``,
``AsyncProducer.send``: bound in C when the producer is made) outside the
instrumentation; its other calls are instrumented. ``uninstrument()`` puts
the original methods back (producers made while instrumented keep the
slower Python-level per-record path until they close). Thread-safety: ``instrument``/``uninstrument``
must not race with each other; the wrapped methods keep the thread rules
of the originals. Cost: a span, a context injection (a header copy) and a
few metric updates per call (per record for ``produce``/``send``), only
while instrumented.
"""

from __future__ import annotations

import functools
import time
import weakref
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.propagators.textmap import Getter
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised by the test without the package
    raise ImportError(
        "gofka.otel needs the OpenTelemetry API: pip install 'gofka[otel]' (or opentelemetry-api)"
    ) from exc

from .async_consumer import AsyncConsumer
from .async_producer import AsyncProducer
from .consumer import Consumer
from .exceptions import GofkaError
from .message import Message
from .producer import Producer

__all__ = ["GofkaInstrumentor", "process_span", "MAX_LINKS"]

#: The most links a poll span carries (one per record with trace context).
MAX_LINKS = 128

INSTRUMENTATION_NAME = "gofka"

# Attribute and instrument names of the messaging semantic conventions.
SYSTEM = "messaging.system"
OPERATION_NAME = "messaging.operation.name"
OPERATION_TYPE = "messaging.operation.type"
DESTINATION = "messaging.destination.name"
PARTITION = "messaging.destination.partition.id"
OFFSET = "messaging.kafka.offset"
KEY = "messaging.kafka.message.key"
TOMBSTONE = "messaging.kafka.message.tombstone"
BATCH_COUNT = "messaging.batch.message_count"
BODY_SIZE = "messaging.message.body.size"
CLIENT_ID = "messaging.client.id"
GROUP = "messaging.consumer.group.name"
ERROR_TYPE = "error.type"

# The key goes into spans only as text that decodes as UTF-8 (the
# conventions ask for it "if it is not a string, it is not captured").
_KEY_LIMIT = 256


class _Instruments(object):
    """The tracer and the metric instruments of one instrument() call."""

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        self.tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)
        meter = metrics.get_meter(INSTRUMENTATION_NAME, meter_provider=meter_provider)
        self.sent = meter.create_counter(
            "messaging.client.sent.messages", unit="{message}",
            description="Records the producer had acknowledged (or failed, with error.type).")
        self.consumed = meter.create_counter(
            "messaging.client.consumed.messages", unit="{message}",
            description="Records handed to the application by poll or async iteration.")
        self.sent_bytes = meter.create_counter(
            "gofka.client.sent.bytes", unit="By", description="Key + value bytes of acknowledged records.")
        self.consumed_bytes = meter.create_counter(
            "gofka.client.consumed.bytes", unit="By", description="Key + value bytes of consumed records.")
        self.duration = meter.create_histogram(
            "messaging.client.operation.duration", unit="s",
            description="Duration of a send (until acknowledged) or a poll call.")
        self.process_duration = meter.create_histogram(
            "messaging.process.duration", unit="s", description="Duration of process_span blocks.")
        # Consumers made while instrumented (see _wrap_consumer_init); the
        # gauge reads their stats() at each collection.
        self.consumers: "weakref.WeakSet[Any]" = weakref.WeakSet()
        meter.create_observable_gauge(
            "gofka.consumer.lag", callbacks=[self._observe_lag], unit="{message}",
            description="Records of an assigned partition not yet polled (high watermark - position).")

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        out = []
        for c in list(self.consumers):
            if getattr(c, "closed", False):
                continue
            try:
                st = c.stats()
            except GofkaError:
                continue  # closed meanwhile
            base: Dict[str, Any] = {SYSTEM: "kafka"}
            if st.get("group_id"):
                base[GROUP] = st["group_id"]
            for part in st.get("partitions", ()):
                if part.get("lag", -1) >= 0:
                    attrs = dict(base)
                    attrs[DESTINATION] = part["topic"]
                    attrs[PARTITION] = str(part["partition"])
                    out.append(Observation(part["lag"], attrs))
        return out


_active: Optional[_Instruments] = None
_originals: Dict[Tuple[type, str], Any] = {}


class GofkaInstrumentor(object):
    """Instruments every Gofka producer and consumer of this process (see
    the module doc). ``instrument()`` twice is a no-op (the first providers
    stay); ``uninstrument()`` without ``instrument()`` is a no-op."""

    @property
    def is_instrumented(self) -> bool:
        return _active is not None

    def instrument(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Starts instrumenting. ``tracer_provider`` / ``meter_provider``:
        the providers to use (default: OpenTelemetry's global ones)."""
        global _active
        if _active is not None:
            return
        _active = _Instruments(tracer_provider, meter_provider)
        for cls, name, wrapper in _WRAPPERS:
            original = cls.__dict__.get(name)
            if original is None:
                original = getattr(cls, name)
            _originals[(cls, name)] = cls.__dict__.get(name, _INHERITED)
            setattr(cls, name, functools.wraps(original)(wrapper(original)))

    def uninstrument(self) -> None:
        """Stops instrumenting: the original methods come back."""
        global _active
        if _active is None:
            return
        for (cls, name), original in _originals.items():
            if original is _INHERITED:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        _originals.clear()
        _active = None


_INHERITED = object()  # marks a method the class inherited (removed again on uninstrument)


# ---- headers: the trace context goes in, comes out ----

def _with_context(headers: Any) -> Any:
    """A copy of ``headers`` (None, a mapping or a list of pairs) with the
    current context injected, in the same form."""
    carrier: Dict[str, str] = {}
    propagate.inject(carrier)
    if not carrier:
        return headers
    if headers is None:
        return [(k, v.encode()) for k, v in carrier.items()]
    if isinstance(headers, Mapping):
        out = dict(headers)
        for k, v in carrier.items():
            out[k] = v.encode()
        return out
    pairs = [pair for pair in headers if not (isinstance(pair, tuple) and pair and pair[0] in carrier)]
    pairs.extend((k, v.encode()) for k, v in carrier.items())
    return pairs


def _batch_headers(headers: Any, count: int) -> Any:
    """send_batch's headers (None, one set for all, or a list with one set
    per message) with the current context injected into each."""
    per_message = isinstance(headers, list) and len(headers) == count and count > 0 and all(
        h is None or isinstance(h, (Mapping, list)) for h in headers)
    if per_message:
        return [_with_context(h) for h in headers]
    return _with_context(headers)


class _HeaderGetter(Getter[Mapping[str, Optional[bytes]]]):
    """Reads a Message's headers for the propagator."""

    def get(self, carrier: Mapping[str, Optional[bytes]], key: str) -> Optional[List[str]]:
        value = carrier.get(key)
        if value is None:
            return None
        try:
            return [value.decode() if isinstance(value, (bytes, bytearray)) else str(value)]
        except UnicodeDecodeError:
            return None

    def keys(self, carrier: Mapping[str, Optional[bytes]]) -> List[str]:
        return list(carrier.keys())


_GETTER = _HeaderGetter()


def _producer_link(message: Message) -> Optional[Link]:
    """A link to the span that produced ``message``, if it carries one."""
    headers = message.headers
    if not headers or "traceparent" not in headers:
        return None
    ctx = propagate.extract(headers, getter=_GETTER)
    span_ctx = trace.get_current_span(ctx).get_span_context()
    return Link(span_ctx) if span_ctx.is_valid else None


def _size(value: Optional[bytes | bytearray], key: Optional[bytes | bytearray]) -> int:
    return (len(value) if value is not None else 0) + (len(key) if key is not None else 0)


def _wire_len(data: Any) -> int:
    """Bytes a value or key takes in the record: a str (send_string) as
    UTF-8, its default encoding."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return len(data)
    if isinstance(data, str):
        return len(data.encode("utf-8", "surrogatepass"))
    return 0


def _key_attr(key: Any) -> Optional[str]:
    if not isinstance(key, (bytes, bytearray)) or len(key) > _KEY_LIMIT:
        return key if isinstance(key, str) else None
    try:
        return bytes(key).decode()
    except UnicodeDecodeError:
        return None


# ---- producer side ----

def _send_attrs(client: Any, topic: Any, partition: Any, key: Any, value: Any,
                count: Optional[int]) -> Dict[str, Any]:
    """A send span's attributes; count is None for one record, the
    batch's length for send_batch."""
    attrs: Dict[str, Any] = {SYSTEM: "kafka", OPERATION_NAME: "send", OPERATION_TYPE: "send",
                             DESTINATION: str(topic)}
    client_id = getattr(client, "client_id", None)
    if client_id:
        attrs[CLIENT_ID] = str(client_id)
    if isinstance(partition, int) and not isinstance(partition, bool) and partition >= 0:
        attrs[PARTITION] = str(partition)
    if count is not None:
        attrs[BATCH_COUNT] = count
    else:
        k = _key_attr(key)
        if k is not None:
            attrs[KEY] = k
        if value is None:
            attrs[TOMBSTONE] = True
        elif isinstance(value, (bytes, bytearray, str)):
            attrs[BODY_SIZE] = len(value)
    return attrs


class _SendRecord(object):
    """One instrumented send in flight: its span, start time and sizes;
    finish() is called once with its result."""

    __slots__ = ("span", "start", "topic", "count", "nbytes", "done")

    def __init__(self, inst: _Instruments, attrs: Dict[str, Any], nbytes: int) -> None:
        self.topic = attrs[DESTINATION]
        self.count: int = attrs.get(BATCH_COUNT, 1)
        self.nbytes = nbytes
        self.start = time.perf_counter()
        self.span = inst.tracer.start_span("send %s" % self.topic, kind=SpanKind.PRODUCER, attributes=attrs)
        self.done = False

    def finish(self, error: Optional[BaseException], offset: Any = None, partition: Any = None) -> None:
        if self.done:
            return
        self.done = True
        inst = _active
        attrs: Dict[str, Any] = {SYSTEM: "kafka", DESTINATION: self.topic, OPERATION_NAME: "send"}
        if error is not None:
            attrs[ERROR_TYPE] = _error_type(error)
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, str(error)))
            self.span.set_attribute(ERROR_TYPE, attrs[ERROR_TYPE])
        else:
            if isinstance(offset, int) and self.count == 1 and offset >= 0:
                self.span.set_attribute(OFFSET, offset)
            if isinstance(partition, int) and partition >= 0:
                self.span.set_attribute(PARTITION, str(partition))
        self.span.end()
        if inst is not None:
            inst.sent.add(self.count, attrs)
            inst.duration.record(time.perf_counter() - self.start, attrs)
            if error is None:
                inst.sent_bytes.add(self.nbytes, attrs)


def _error_type(error: BaseException) -> str:
    if isinstance(error, GofkaError):
        if error.name:
            return error.name
    return type(error).__name__


def _start_send(client: Any, topic: Any, partition: Any, key: Any, value: Any,
                count: Optional[int] = None, nbytes: Optional[int] = None) -> Optional[_SendRecord]:
    inst = _active
    if inst is None:
        return None
    if nbytes is None:
        nbytes = _wire_len(value) + _wire_len(key)
    return _SendRecord(inst, _send_attrs(client, topic, partition, key, value, count), nbytes)


def _arg(args: Sequence[Any], kwargs: Mapping[str, Any], index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _set_arg(args: Sequence[Any], kwargs: Dict[str, Any], index: int, name: str, value: Any) -> Tuple[Any, ...]:
    """Returns args with argument (index, name) set to value, positionally
    if it was passed positionally, else in kwargs (changed in place)."""
    if len(args) > index:
        out = list(args)
        out[index] = value
        return tuple(out)
    kwargs[name] = value
    return tuple(args)


def _wrap_sync_send(headers_index: int, key_index: int) -> Callable[[Any], Any]:
    """Producer.send / send_string: (topic, message, partition, ...) ->
    offset, waiting for the acknowledgement."""

    def make(original: Any) -> Any:
        def send(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _active is None:
                return original(self, *args, **kwargs)
            topic, value = _arg(args, kwargs, 0, "topic"), _arg(args, kwargs, 1, "message")
            rec = _start_send(self, topic, _arg(args, kwargs, 2, "partition"),
                              _arg(args, kwargs, key_index, "key"), value)
            assert rec is not None
            with trace.use_span(rec.span, end_on_exit=False):
                args = _set_arg(args, kwargs, headers_index, "headers",
                                _with_context(_arg(args, kwargs, headers_index, "headers")))
            try:
                offset = original(self, *args, **kwargs)
            except BaseException as exc:
                rec.finish(exc)
                raise
            rec.finish(None, offset)
            return offset
        return send
    return make


def _wrap_sync_send_batch(original: Any) -> Any:
    def send_batch(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active is None:
            return original(self, *args, **kwargs)
        topic, messages = _arg(args, kwargs, 0, "topic"), _arg(args, kwargs, 1, "messages")
        count = len(messages) if isinstance(messages, Sequence) else 0
        nbytes = sum(len(m) for m in messages if isinstance(m, (bytes, bytearray))) if count else 0
        rec = _start_send(self, topic, _arg(args, kwargs, 2, "partition"), None, None, count, nbytes)
        assert rec is not None
        with trace.use_span(rec.span, end_on_exit=False):
            kwargs["headers"] = _batch_headers(kwargs.get("headers"), count)
        try:
            offsets = original(self, *args, **kwargs)
        except BaseException as exc:
            rec.finish(exc)
            raise
        rec.finish(None)
        return offsets
    return send_batch


def _wrap_produce(original: Any) -> Any:
    """Producer.produce(topic, value, key, partition, headers, timestamp,
    on_delivery, *, callback): the span ends in the delivery report."""

    def produce(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active is None:
            return original(self, *args, **kwargs)
        user_cb = _arg(args, kwargs, 6, "on_delivery")
        if user_cb is not None and kwargs.get("callback") is not None:
            return original(self, *args, **kwargs)  # both given: produce() refuses that itself
        user_cb = user_cb or kwargs.get("callback")
        topic, value, key = _arg(args, kwargs, 0, "topic"), _arg(args, kwargs, 1, "value"), _arg(args, kwargs, 2, "key")
        rec = _start_send(self, topic, _arg(args, kwargs, 3, "partition"), key, value)
        assert rec is not None

        def on_delivery(err: Optional[GofkaError], msg: Message) -> Any:
            rec.finish(err, getattr(msg, "offset", None), getattr(msg, "partition", None))
            if user_cb is not None:
                return user_cb(err, msg)
            return None

        with trace.use_span(rec.span, end_on_exit=False):
            args = _set_arg(args, kwargs, 4, "headers", _with_context(_arg(args, kwargs, 4, "headers")))
        kwargs.pop("callback", None)
        args = _set_arg(args, kwargs, 6, "on_delivery", on_delivery)
        try:
            return original(self, *args, **kwargs)
        except BaseException as exc:
            rec.finish(exc)
            raise
    return produce


def _wrap_async_send(original: Any) -> Any:
    """AsyncProducer.send(topic, message, partition, key, headers, *,
    timestamp): returns a future (or, outside a running loop, a coroutine);
    the span ends when that completes."""

    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active is None:
            return original(self, *args, **kwargs)
        topic, value = _arg(args, kwargs, 0, "topic"), _arg(args, kwargs, 1, "message")
        rec = _start_send(self, topic, _arg(args, kwargs, 2, "partition"), _arg(args, kwargs, 3, "key"), value)
        assert rec is not None
        with trace.use_span(rec.span, end_on_exit=False):
            args = _set_arg(args, kwargs, 4, "headers", _with_context(_arg(args, kwargs, 4, "headers")))
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            rec.finish(exc)
            raise
        add_done = getattr(result, "add_done_callback", None)
        if add_done is not None:
            def done(fut: Any) -> None:
                if fut.cancelled():
                    rec.finish(_Cancelled("send cancelled"))
                elif fut.exception() is not None:
                    rec.finish(fut.exception())
                else:
                    rec.finish(None, fut.result())
            add_done(done)
            return result
        return _finish_when_awaited(result, rec)
    return send


class _Cancelled(Exception):
    """The awaited send was cancelled (recorded as its error type)."""


async def _finish_when_awaited(coro: Any, rec: _SendRecord) -> Any:
    try:
        offset = await coro
    except BaseException as exc:
        rec.finish(exc)
        raise
    rec.finish(None, offset)
    return offset


def _wrap_async_send_batch(original: Any) -> Any:
    async def send_batch(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active is None:
            return await original(self, *args, **kwargs)
        topic, messages = _arg(args, kwargs, 0, "topic"), _arg(args, kwargs, 1, "messages")
        count = len(messages) if isinstance(messages, Sequence) else 0
        nbytes = sum(len(m) for m in messages if isinstance(m, (bytes, bytearray))) if count else 0
        rec = _start_send(self, topic, _arg(args, kwargs, 2, "partition"), None, None, count, nbytes)
        assert rec is not None
        with trace.use_span(rec.span, end_on_exit=False):
            kwargs["headers"] = _batch_headers(kwargs.get("headers"), count)
        try:
            offsets = await original(self, *args, **kwargs)
        except BaseException as exc:
            rec.finish(exc)
            raise
        rec.finish(None)
        return offsets
    return send_batch


# ---- consumer side ----

def _record_poll(client: Any, messages: Iterable[Message], start_time_ns: int, started: float) -> None:
    """The poll span and metrics for the records one poll returned."""
    inst = _active
    msgs = list(messages)
    if inst is None or not msgs:
        return
    topics = sorted({m.topic for m in msgs})
    name = "poll %s" % topics[0] if len(topics) == 1 else "poll"
    attrs: Dict[str, Any] = {SYSTEM: "kafka", OPERATION_NAME: "poll", OPERATION_TYPE: "receive"}
    if len(topics) == 1:
        attrs[DESTINATION] = topics[0]
    group = getattr(client, "group_id", None)
    if group:
        attrs[GROUP] = str(group)
    client_id = getattr(client, "client_id", None)
    if client_id:
        attrs[CLIENT_ID] = str(client_id)
    metric_attrs = dict(attrs)
    if len(msgs) == 1:
        m = msgs[0]
        attrs[PARTITION] = str(m.partition)
        attrs[OFFSET] = m.offset
        k = _key_attr(m.key)
        if k is not None:
            attrs[KEY] = k
    else:
        attrs[BATCH_COUNT] = len(msgs)
    links: List[Link] = []
    for m in msgs:
        if len(links) >= MAX_LINKS:
            break
        link = _producer_link(m)
        if link is not None:
            links.append(link)
    span = inst.tracer.start_span(name, kind=SpanKind.CONSUMER, attributes=attrs, links=links,
                                  start_time=start_time_ns)
    span.end()
    inst.duration.record(time.perf_counter() - started, metric_attrs)
    per_topic: Dict[str, Tuple[int, int]] = {}
    for m in msgs:
        n, b = per_topic.get(m.topic, (0, 0))
        per_topic[m.topic] = (n + 1, b + _size(m.value, m.key))
    for topic, (n, b) in per_topic.items():
        topic_attrs = dict(metric_attrs)
        topic_attrs[DESTINATION] = topic
        inst.consumed.add(n, topic_attrs)
        inst.consumed_bytes.add(b, topic_attrs)


def _wrap_sync_poll(original: Any) -> Any:
    def poll(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active is None:
            return original(self, *args, **kwargs)
        start_ns, started = time.time_ns(), time.perf_counter()
        msgs = original(self, *args, **kwargs)
        _record_poll(self, msgs, start_ns, started)
        return msgs
    return poll


def _wrap_async_poll(original: Any) -> Any:
    async def poll(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active is None:
            return await original(self, *args, **kwargs)
        start_ns, started = time.time_ns(), time.perf_counter()
        msgs = await original(self, *args, **kwargs)
        _record_poll(self, msgs, start_ns, started)
        return msgs
    return poll


def _wrap_anext(original: Any) -> Any:
    async def anext(self: Any) -> Any:
        if _active is None:
            return await original(self)
        start_ns, started = time.time_ns(), time.perf_counter()
        msg = await original(self)
        _record_poll(self, [msg], start_ns, started)
        return msg
    return anext


class process_span(object):
    """``with process_span(message): handle(message)`` (or ``async with``)
    runs the block in a ``process <topic>`` span of kind CONSUMER, linked
    to the span that produced the record (when its headers carry one) and
    the current span as parent, and records ``messaging.process.duration``.
    An exception escaping the block marks the span as failed (and is not
    swallowed). Works (as a no-op span) when not instrumented."""

    def __init__(self, message: Message) -> None:
        self._message = message
        self._span: Any = None
        self._token: Any = None
        self._started = 0.0

    def __enter__(self) -> Any:
        m = self._message
        inst = _active
        tracer = inst.tracer if inst is not None else trace.get_tracer(INSTRUMENTATION_NAME)
        attrs: Dict[str, Any] = {SYSTEM: "kafka", OPERATION_NAME: "process", OPERATION_TYPE: "process",
                                 DESTINATION: m.topic, PARTITION: str(m.partition), OFFSET: m.offset}
        link = _producer_link(m)
        self._started = time.perf_counter()
        self._span = tracer.start_span("process %s" % m.topic, kind=SpanKind.CONSUMER, attributes=attrs,
                                       links=[link] if link is not None else None)
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        otel_context.detach(self._token)
        attrs: Dict[str, Any] = {SYSTEM: "kafka", OPERATION_NAME: "process", DESTINATION: self._message.topic}
        if exc is not None:
            attrs[ERROR_TYPE] = _error_type(exc)
            self._span.record_exception(exc)
            self._span.set_status(Status(StatusCode.ERROR, str(exc)))
            self._span.set_attribute(ERROR_TYPE, attrs[ERROR_TYPE])
        self._span.end()
        inst = _active
        if inst is not None:
            inst.process_duration.record(time.perf_counter() - self._started, attrs)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def _wrap_init(original: Any) -> Any:
    """Producer / AsyncProducer construction: a client binds its per-record
    fast path (``produce`` / ``send`` in C) as an instance attribute, which
    a class-level wrapper cannot see; while instrumented, new clients drop
    it and use the (wrapped) methods of the class."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if _active is not None:
            for name in _FAST_PATHS:
                self.__dict__.pop(name, None)
    return __init__


def _wrap_consumer_init(original: Any) -> Any:
    """Consumer / AsyncConsumer construction: while instrumented, the new
    consumer joins the set whose lag the gofka.consumer.lag gauge reports."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        inst = _active
        if inst is not None:
            inst.consumers.add(self)
    return __init__


# The instance attributes that hold per-record fast paths (see _wrap_init).
_FAST_PATHS = ("produce", "send")

# (class, method, wrapper factory). Producer.send and send_string take key
# and headers keyword-only, hence indexes past any positional argument.
# AsyncProducer.send_string calls self.send: one span, no wrapper of its own.
_WRAPPERS: List[Tuple[type, str, Callable[[Any], Any]]] = [
    (Producer, "__init__", _wrap_init),
    (AsyncProducer, "__init__", _wrap_init),
    (Producer, "send", _wrap_sync_send(headers_index=99, key_index=99)),
    (Producer, "send_string", _wrap_sync_send(headers_index=99, key_index=99)),
    (Producer, "send_batch", _wrap_sync_send_batch),
    (Producer, "produce", _wrap_produce),
    (AsyncProducer, "send", _wrap_async_send),
    (AsyncProducer, "send_batch", _wrap_async_send_batch),
    (Consumer, "__init__", _wrap_consumer_init),
    (AsyncConsumer, "__init__", _wrap_consumer_init),
    (Consumer, "poll", _wrap_sync_poll),
    (AsyncConsumer, "poll", _wrap_async_poll),
    (AsyncConsumer, "__anext__", _wrap_anext),
]
