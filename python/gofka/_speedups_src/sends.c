#include "speedups.h"

/* AsyncSends: AsyncProducer.send's fast path and the sends of the
 * current loop turn (async_producer.py has the pure-Python twin,
 * _PyAsyncSends, and the slow path, AsyncProducer.send).
 *
 * send() takes the common case in C: called on the producer's loop, a str
 * topic seen before, bytes (or None) value and key, no headers, no
 * timestamp, the default / None / an int partition, no custom partitioner.
 * It creates the record's future, appends (topic_b, partition, key, value,
 * -1, b"", size, future) to `buffer` and schedules `pack` once per loop
 * turn with loop.call_soon, or calls it at once when `buffer` reaches
 * push_records. Anything else goes to slow_send(owner, ...), the
 * Python method, so errors and rare cases have one implementation.
 *
 * Thread-safety: used from the loop's thread only, under the GIL. */

typedef struct {
    PyObject_HEAD
    PyObject *buffer;            /* list of record tuples not yet packed */
    PyObject *topics;            /* dict str -> encoded topic, shared with the owner */
    PyObject *slow_send;         /* AsyncProducer.send (unbound) */
    PyObject *default_partition; /* PARTITION_DEFAULT sentinel */
    PyObject *owner;             /* weakref to the AsyncProducer */
    PyObject *pack;              /* callable scheduled once per loop turn */
    PyObject *loop;              /* the bound loop or NULL */
    PyObject *create_future;     /* loop.create_future, or asyncio.Future (see future_kw) */
    PyObject *future_kw;         /* {"loop": loop} when create_future is asyncio.Future itself, else NULL */
    PyObject *call_soon;         /* loop.call_soon */
    Py_ssize_t push_records;     /* pack at once when the buffer holds this many */
    char thread_id_attr;         /* the loop has asyncio's _thread_id (see loop_runs_here) */
    /* Attributes (T_BOOL): */
    char scheduled;              /* pack is scheduled */
    char closed;                 /* the producer is closing: every send takes the slow path (which raises) */
    char partitioner;            /* a custom partitioner is set: slow path for the default partition */
} AsyncSends;

static PyObject *get_running_loop; /* asyncio._get_running_loop */
static PyObject *stock_create_future; /* asyncio.BaseEventLoop.create_future (returns asyncio.Future(loop=self)) */
static PyObject *future_type;        /* asyncio.Future */
static PyObject *gc_is_tracked;      /* gc.is_tracked (PyObject_GC_IsTracked is not in the 3.8 stable ABI) */
static PyObject *empty_bytes, *empty_tuple, *minus_one, *zero, *str_done, *str_set_result, *str_thread_id;

/* Looks up asyncio's objects above on the first AsyncSends (an
 * AsyncProducer's), not at import: import gofka does not import asyncio
 * (about 10 MiB of RSS with the ssl module it brings), which the blocking
 * clients never need. Made once per process, kept for its lifetime. */
static int import_asyncio(void)
{
    PyObject *asyncio, *base;
    if (stock_create_future != NULL) /* set last: all three are there */
        return 0;
    if ((asyncio = PyImport_ImportModule("asyncio")) == NULL)
        return -1;
    Py_CLEAR(get_running_loop); /* a failed earlier attempt may have left some */
    Py_CLEAR(future_type);
    get_running_loop = PyObject_GetAttrString(asyncio, "_get_running_loop");
    future_type = PyObject_GetAttrString(asyncio, "Future");
    base = PyObject_GetAttrString(asyncio, "BaseEventLoop");
    Py_DECREF(asyncio);
    if (get_running_loop == NULL || future_type == NULL || base == NULL) {
        Py_XDECREF(base);
        return -1;
    }
    stock_create_future = PyObject_GetAttrString(base, "create_future");
    Py_DECREF(base);
    return stock_create_future == NULL ? -1 : 0;
}

/* Makes the other objects above: PyInit__speedups calls it; they are made
 * once per process and kept for its lifetime (never freed). */
int sends_init_module(void)
{
    if (gc_is_tracked == NULL) {
        PyObject *gc = PyImport_ImportModule("gc");
        if (gc == NULL)
            return -1;
        gc_is_tracked = PyObject_GetAttrString(gc, "is_tracked");
        Py_DECREF(gc);
        if (gc_is_tracked == NULL)
            return -1;
    }
    if ((empty_bytes == NULL && (empty_bytes = PyBytes_FromStringAndSize(NULL, 0)) == NULL) ||
        (empty_tuple == NULL && (empty_tuple = PyTuple_New(0)) == NULL) ||
        (minus_one == NULL && (minus_one = PyLong_FromLong(-1)) == NULL) ||
        (zero == NULL && (zero = PyLong_FromLong(0)) == NULL) ||
        (str_done == NULL && (str_done = PyUnicode_InternFromString("done")) == NULL) ||
        (str_set_result == NULL && (str_set_result = PyUnicode_InternFromString("set_result")) == NULL) ||
        (str_thread_id == NULL && (str_thread_id = PyUnicode_InternFromString("_thread_id")) == NULL))
        return -1;
    return 0;
}

static int sends_traverse(PyObject *self, visitproc visit, void *arg)
{
    AsyncSends *q = (AsyncSends *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(q->buffer);
    Py_VISIT(q->topics);
    Py_VISIT(q->slow_send);
    Py_VISIT(q->default_partition);
    Py_VISIT(q->owner);
    Py_VISIT(q->pack);
    Py_VISIT(q->loop);
    Py_VISIT(q->create_future);
    Py_VISIT(q->future_kw);
    Py_VISIT(q->call_soon);
    return 0;
}

static int sends_clear(PyObject *self)
{
    AsyncSends *q = (AsyncSends *)self;
    Py_CLEAR(q->buffer);
    Py_CLEAR(q->topics);
    Py_CLEAR(q->slow_send);
    Py_CLEAR(q->default_partition);
    Py_CLEAR(q->owner);
    Py_CLEAR(q->pack);
    Py_CLEAR(q->loop);
    Py_CLEAR(q->create_future);
    Py_CLEAR(q->future_kw);
    Py_CLEAR(q->call_soon);
    return 0;
}

static int sends_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"owner", "topics", "slow_send", "default_partition", "pack", "partitioner",
                             "push_records", NULL};
    AsyncSends *q = (AsyncSends *)self;
    PyObject *owner, *topics, *slow, *dflt, *pack, *ref;
    int partitioner;
    Py_ssize_t push;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO!OOOpn:AsyncSends", kwlist, &owner, &PyDict_Type, &topics, &slow,
                                     &dflt, &pack, &partitioner, &push))
        return -1;
    if (import_asyncio() < 0)
        return -1;
    if (push < 1) {
        PyErr_SetString(PyExc_ValueError, "push_records must be positive");
        return -1;
    }
    if (!PyCallable_Check(slow) || !PyCallable_Check(pack)) {
        PyErr_SetString(PyExc_TypeError, "slow_send and pack must be callable");
        return -1;
    }
    if ((ref = PyWeakref_NewRef(owner, NULL)) == NULL)
        return -1;
    sends_clear(self);
    q->owner = ref;
    if ((q->buffer = PyList_New(0)) == NULL)
        return -1;
    Py_INCREF(topics);
    q->topics = topics;
    Py_INCREF(slow);
    q->slow_send = slow;
    Py_INCREF(dflt);
    q->default_partition = dflt;
    Py_INCREF(pack);
    q->pack = pack;
    q->scheduled = 0;
    q->closed = 0;
    q->partitioner = (char)partitioner;
    q->push_records = push;
    return 0;
}

/* Bytes a record counts for beyond its key, value and headers when sends
 * are cut into units: producer.REC_OVERHEAD (test_speedups checks). */
#define SEND_RECORD_OVERHEAD 40

/* send()'s parameters, as AsyncProducer.send; the last is keyword-only. */
#define SEND_NARGS 6
static const char *const send_names[SEND_NARGS] = {"topic", "message", "partition", "key", "headers", "timestamp"};
static PyObject *send_kwnames[SEND_NARGS];
const ArgSpec send_spec = {"send", SEND_NARGS, 5, 2, send_names, send_kwnames};

/* Whether q->loop is the loop running in this thread: 1 yes, 0 no, -1
 * error. asyncio's loops (BaseEventLoop) keep the thread running them in
 * _thread_id (None when stopped), which costs an attribute read;
 * asyncio._get_running_loop() asks the OS for the pid on every call (its
 * fork check, a system call: ~15% of a send's CPU), so it serves only
 * loops without _thread_id (checked once, in bind). */
static int loop_runs_here(AsyncSends *q)
{
    PyObject *v;
    int here;
    if (q->thread_id_attr) {
        if ((v = PyObject_GetAttr(q->loop, str_thread_id)) == NULL)
            return -1;
        here = PyLong_Check(v) && PyLong_AsUnsignedLong(v) == PyThread_get_thread_ident();
        Py_DECREF(v);
        if (PyErr_Occurred())
            return -1;
        return here;
    }
    if ((v = PyObject_CallObject(get_running_loop, NULL)) == NULL)
        return -1;
    here = v == q->loop;
    Py_DECREF(v); /* identity only; q->loop keeps the loop alive */
    return here;
}

/* The slow path: slow_send(owner, *argv) with the arguments as passed. */
static PyObject *sends_slow(AsyncSends *q, PyObject *args, PyObject *kwds)
{
    return call_with_owner(q->owner, q->slow_send, args, kwds);
}

static PyObject *sends_send(PyObject *self, PyObject *args, PyObject *kwds)
{
    AsyncSends *q = (AsyncSends *)self;
    PyObject *argv[SEND_NARGS];
    PyObject *topic, *value, *partition, *key, *topic_b, *part, *fut, *rec, *size;
    if (q->closed || q->loop == NULL)
        return sends_slow(q, args, kwds);
    if (bind_args(&send_spec, args, kwds, argv) < 0) {
        /* Python's own wording for a bad call: the slow path raises it. */
        if (!PyErr_ExceptionMatches(PyExc_TypeError))
            return NULL;
        PyErr_Clear();
        return sends_slow(q, args, kwds);
    }
    topic = argv[0];
    value = argv[1];
    partition = argv[2];
    key = argv[3] == NULL ? Py_None : argv[3];
    if ((argv[4] != NULL && argv[4] != Py_None) || (argv[5] != NULL && argv[5] != Py_None) ||
        !PyUnicode_CheckExact(topic) || (value != Py_None && !PyBytes_CheckExact(value)) ||
        (key != Py_None && !PyBytes_CheckExact(key)))
        return sends_slow(q, args, kwds);
    if (partition == NULL || partition == q->default_partition) {
        if (q->partitioner)
            return sends_slow(q, args, kwds);
        part = key == Py_None ? zero : minus_one;
    } else if (partition == Py_None) {
        part = minus_one;
    } else if (PyLong_CheckExact(partition)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(partition, &overflow);
        if (overflow || v < -1 || v > 2147483647LL) /* the slow path raises the error */
            return sends_slow(q, args, kwds);
        part = partition;
    } else {
        return sends_slow(q, args, kwds);
    }
    topic_b = PyDict_GetItemWithError(q->topics, topic); /* borrowed */
    if (topic_b == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return sends_slow(q, args, kwds); /* first use: validates and caches the name */
    }
    switch (loop_runs_here(q)) {
    case -1:
        return NULL;
    case 0:
        return sends_slow(q, args, kwds);
    }
    if (q->future_kw != NULL)
        fut = PyObject_Call(q->create_future, empty_tuple, q->future_kw); /* what loop.create_future does */
    else
        fut = PyObject_CallObject(q->create_future, NULL);
    if (fut == NULL)
        return NULL;
    /* Not for the cyclic GC while pending (see track_futures): with
     * 500,000 sends in flight, the collections triggered by new
     * allocations traversed them over and over, ~1 us per send. The
     * producer holds every pending future until it resolves it, and
     * _send_deliver tracks it again first (track_futures), so the only
     * effect is that a reference cycle through a pending future is
     * collected once the future is resolved rather than before. */
    if (PyType_GetFlags(Py_TYPE(fut)) & Py_TPFLAGS_HAVE_GC)
        PyObject_GC_UnTrack(fut);
    size = PyLong_FromSsize_t(SEND_RECORD_OVERHEAD + (key == Py_None ? 0 : PyBytes_Size(key)) +
                              (value == Py_None ? 0 : PyBytes_Size(value)));
    rec = size == NULL ? NULL : PyTuple_Pack(8, topic_b, part, key, value, minus_one, empty_bytes, size, fut);
    Py_XDECREF(size);
    /* Not for the cyclic GC: the tuple lives until the next loop turn
     * packs it, and traversing 500,000 of them in every collection cost
     * ~1 us per send. An untracked tuple still keeps what it holds alive;
     * only a cycle through it (none is made here) would wait for it to be
     * freed. */
    if (rec != NULL)
        PyObject_GC_UnTrack(rec);
    if (rec == NULL || PyList_Append(q->buffer, rec) < 0) {
        Py_XDECREF(rec);
        Py_DECREF(fut);
        return NULL;
    }
    Py_DECREF(rec);
    if (!q->scheduled) {
        PyObject *h = PyObject_CallFunctionObjArgs(q->call_soon, q->pack, NULL);
        if (h == NULL) {
            Py_DECREF(fut);
            return NULL;
        }
        Py_DECREF(h);
        q->scheduled = 1;
    }
    if (PyList_Size(q->buffer) >= q->push_records) {
        /* A long run of sends without yielding to the loop: hand this
         * unit to the engine now, so that it sends while Python goes on. */
        PyObject *r = PyObject_CallObject(q->pack, NULL);
        if (r == NULL) {
            Py_DECREF(fut);
            return NULL;
        }
        Py_DECREF(r);
    }
    return fut;
}

/* bind(loop): the loop the fast path serves (None: none). */
static PyObject *sends_bind(PyObject *self, PyObject *loop)
{
    AsyncSends *q = (AsyncSends *)self;
    PyObject *cf = NULL, *cs = NULL, *kw = NULL, *func;
    if (loop != Py_None) {
        if ((cf = PyObject_GetAttrString(loop, "create_future")) == NULL)
            return NULL;
        /* A loop whose create_future is asyncio's own (the stock loops;
         * not uvloop's, nor an override in a subclass or on the
         * instance) gets asyncio.Future(loop=loop) called directly: the
         * same future without a Python frame. */
        if ((func = PyObject_GetAttrString(cf, "__func__")) == NULL) {
            PyErr_Clear(); /* not a bound Python method: call it as is */
        } else {
            if (func == stock_create_future) {
                if ((kw = Py_BuildValue("{sO}", "loop", loop)) == NULL) {
                    Py_DECREF(func);
                    Py_DECREF(cf);
                    return NULL;
                }
                Py_DECREF(cf);
                cf = future_type;
                Py_INCREF(cf);
            }
            Py_DECREF(func);
        }
        if ((cs = PyObject_GetAttrString(loop, "call_soon")) == NULL) {
            Py_DECREF(cf);
            Py_XDECREF(kw);
            return NULL;
        }
        Py_INCREF(loop);
    }
    Py_CLEAR(q->loop);
    Py_CLEAR(q->create_future);
    Py_CLEAR(q->future_kw);
    Py_CLEAR(q->call_soon);
    q->thread_id_attr = 0;
    if (loop != Py_None) {
        q->loop = loop;
        q->create_future = cf;
        q->future_kw = kw;
        q->call_soon = cs;
        q->thread_id_attr = (char)PyObject_HasAttr(loop, str_thread_id);
    }
    Py_RETURN_NONE;
}

static PyObject *sends_take(PyObject *self, PyObject *unused)
{
    AsyncSends *q = (AsyncSends *)self;
    PyObject *fresh = PyList_New(0), *out;
    (void)unused;
    if (fresh == NULL)
        return NULL;
    out = q->buffer;
    q->buffer = fresh;
    q->scheduled = 0;
    return out;
}

static PyMethodDef sends_methods[] = {
    {"send", (PyCFunction)(void (*)(void))sends_send, METH_VARARGS | METH_KEYWORDS,
     "send(topic, message, partition=<default>, key=None, headers=None, *, timestamp=None): see "
     "gofka.AsyncProducer.send."},
    {"bind", sends_bind, METH_O, "bind(loop): the event loop the fast path serves (None: none)."},
    {"take", sends_take, METH_NOARGS, "take() -> the buffered sends, leaving none and nothing scheduled."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef sends_members[] = {
    {"buffer", T_OBJECT, offsetof(AsyncSends, buffer), READONLY, "the sends of this loop turn, not yet packed"},
    {"scheduled", T_BOOL, offsetof(AsyncSends, scheduled), 0, "pack is scheduled on the loop"},
    {"closed", T_BOOL, offsetof(AsyncSends, closed), 0, "the producer is closing: every send takes the slow path"},
    {"partitioner", T_BOOL, offsetof(AsyncSends, partitioner), 0, "a custom partitioner is set"},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot sends_slots[] = {
    {Py_tp_members, sends_members},
    {Py_tp_dealloc, (void *)gc_dealloc},
    {Py_tp_traverse, (void *)sends_traverse},
    {Py_tp_clear, (void *)sends_clear},
    {Py_tp_init, (void *)sends_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_methods, sends_methods},
    {Py_tp_doc, (void *)"AsyncProducer.send's fast path and the sends of this loop turn (see async_producer.py)."},
    {0, NULL},
};

PyType_Spec sends_spec = {
    "gofka._speedups.AsyncSends",
    sizeof(AsyncSends),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    sends_slots,
};

/* track_futures(futures): puts every future of the list that the cyclic
 * GC does not track (AsyncSends.send untracks the futures it makes) back
 * under its watch; the others are left alone (tracking a tracked object
 * is a fatal error). _send_deliver calls it before it resolves them, and
 * AsyncProducer.close for sends it fails before they were packed. */
PyObject *track_futures(PyObject *module, PyObject *futs)
{
    Py_ssize_t n, i;
    (void)module;
    if (!PyList_Check(futs)) {
        PyErr_SetString(PyExc_TypeError, "track_futures: futures must be a list");
        return NULL;
    }
    n = PyList_Size(futs);
    for (i = 0; i < n; i++) {
        PyObject *f = PyList_GetItem(futs, i), *r;
        int tracked;
        if (!(PyType_GetFlags(Py_TYPE(f)) & Py_TPFLAGS_HAVE_GC))
            continue;
        if ((r = PyObject_CallFunctionObjArgs(gc_is_tracked, f, NULL)) == NULL)
            return NULL;
        tracked = r == Py_True;
        Py_DECREF(r);
        if (!tracked)
            PyObject_GC_Track(f);
    }
    Py_RETURN_NONE;
}

/* resolve_sends(futures, payload): the success path of a batch event for
 * one future per record (async_producer._send_deliver): when the payload
 * holds exactly one result (GOFKA_BATCH_RESULT_*: int32 code, int32
 * partition, int64 offset, little-endian) per future, every future not already done (its
 * awaiter may have cancelled it) gets its offset, and the result is True.
 * Otherwise nothing is touched and the result is False. */
PyObject *resolve_sends(PyObject *module, PyObject *args)
{
    PyObject *futs, *payload;
    char *buf;
    Py_ssize_t len, n, i;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!:resolve_sends", &PyList_Type, &futs, &PyBytes_Type, &payload))
        return NULL;
    if (PyBytes_AsStringAndSize(payload, &buf, &len) < 0)
        return NULL;
    n = PyList_Size(futs);
    if (len != GOFKA_BATCH_RESULT_SIZE * n)
        Py_RETURN_FALSE;
    for (i = 0; i < n; i++) {
        PyObject *f = PyList_GetItem(futs, i), *done, *off, *r;
        int truth;
        if ((done = PyObject_CallMethodObjArgs(f, str_done, NULL)) == NULL)
            return NULL;
        truth = PyObject_IsTrue(done);
        Py_DECREF(done);
        if (truth < 0)
            return NULL;
        if (truth)
            continue;
        if ((off = PyLong_FromLongLong(rd64((const unsigned char *)buf + GOFKA_BATCH_RESULT_SIZE * i + GOFKA_BATCH_RESULT_OFFSET_OFFSET))) == NULL)
            return NULL;
        r = PyObject_CallMethodObjArgs(f, str_set_result, off, NULL);
        Py_DECREF(off);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_TRUE;
}
