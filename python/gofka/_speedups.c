/*
 * gofka._speedups: the optional C half of the Python package.
 *
 * Why it exists: a consumer poll returns thousands of Message objects, and
 * building them in Python bytecode (one struct unpack, three slices, one
 * __init__ call per record) cost about 0.8 us per record, more than the
 * whole Go engine spends fetching and decoding it. This module builds them
 * at C speed from the packed messages buffer (include/gofka.h, "messages
 * format"). The same reasoning later brought in the producer's hot paths
 * and the sync consumer's poll (below). It does not link against
 * libgofka: the two functions that call into the library, send_wait and
 * consumer_poll, do so through the addresses of library functions that
 * gofka/_native.py hands it from the ctypes handle (bind_library) when it
 * loads the library, and takes back (unbind_library) in a child forked
 * after that, where the engine must not be called.
 *
 * It is optional. gofka/message.py and gofka/consumer.py fall back to pure
 * Python (same results, tested both ways) when it is missing or when
 * GOFKA_NO_SPEEDUPS=1, so the package still works where no C compiler was
 * available at install time.
 *
 * Built against the stable ABI of CPython 3.8 (Py_LIMITED_API), so one
 * binary (_speedups.abi3.so) serves every CPython from 3.8 on.
 *
 * What it provides:
 *   MessageFields   the storage base class of gofka.Message: seven object
 *                   slots. gofka.Message (Python) subclasses it with
 *                   __slots__ = () and adds __init__, __repr__, __eq__.
 *                   The cyclic garbage collector does not see these
 *                   slots (no tp_traverse), and parse_poll untracks
 *                   what it builds, so building 10,000 messages triggers
 *                   no collection. The price: a reference cycle through
 *                   a message (one stored in its own headers) is never
 *                   freed.
 *                   `headers` is created lazily (an empty dict on first
 *                   access) because most records carry none.
 *   set_message_class(cls)   registers gofka.Message, checked to be a
 *                   subclass of MessageFields adding no storage.
 *   parse_poll(buf) -> (messages, events)
 *                   decodes a messages buffer (bytes). events:
 *                   [(kind, [(topic, partition)])]. Every count and
 *                   offset is bounds-checked; a malformed buffer raises
 *                   ValueError.
 *   bind_library(produce_wait, drain, free, poll)   the library's functions
 *                   that the two calls below use.
 *   unbind_library()   forgets them: the two calls then raise RuntimeError
 *                   instead of calling the library.
 *   send_wait(...)  the sync Producer.send in one call (see send_wait).
 *   consumer_poll(...)   one gofka_consumer_poll, decoded straight from
 *                   the library's buffer (see consumer_poll).
 *
 * Thread-safety: every function runs with the GIL held and touches only
 * its arguments, the registered class and the bound library addresses
 * (set when the library is loaded, before any handle exists, and cleared
 * in a forked child, whose other threads are gone: never while a call
 * uses them); send_wait and consumer_poll release the GIL while they are
 * in the library.
 */
#define Py_LIMITED_API 0x03080000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* gofka_error_t, and the sizes and offsets of the packed records
 * (GOFKA_EVENT_*, GOFKA_MESSAGE_HEAD_*, ...: generated from the Go tables).
 * Only types and macros are used: this module calls the library through
 * addresses bind_library receives, it does not link against it. */
#include "gofka.h"

typedef struct {
    PyObject_HEAD
    PyObject *topic;
    PyObject *partition;
    PyObject *offset;
    PyObject *value;
    PyObject *headers; /* NULL until first read or set: see headers_get */
    PyObject *timestamp;
    PyObject *key;
    /* The headers as read, a list of (str, bytes | None) in order: set only
     * when a key repeats (the dict keeps its last value) or when the
     * headers were given as a list; NULL: header_list derives the list
     * from headers. */
    PyObject *header_list;
} MessageFields;

static PyTypeObject *fields_type;   /* MessageFields (owned by the module) */
static PyTypeObject *message_class; /* gofka.Message, set by set_message_class */
static int message_class_gc;        /* whether message_class is GC-tracked */

static void fields_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    MessageFields *m = (MessageFields *)self;
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    Py_CLEAR(m->topic);
    Py_CLEAR(m->partition);
    Py_CLEAR(m->offset);
    Py_CLEAR(m->value);
    Py_CLEAR(m->headers);
    Py_CLEAR(m->timestamp);
    Py_CLEAR(m->key);
    Py_CLEAR(m->header_list);
    tp_free(self);
    /* Instances of heap types own a reference to their type. */
    Py_DECREF(tp);
}

static PyObject *headers_get(PyObject *self, void *closure)
{
    MessageFields *m = (MessageFields *)self;
    (void)closure;
    if (m->headers == NULL) {
        m->headers = PyDict_New();
        if (m->headers == NULL)
            return NULL;
    }
    Py_INCREF(m->headers);
    return m->headers;
}

static int headers_set(PyObject *self, PyObject *value, void *closure)
{
    MessageFields *m = (MessageFields *)self;
    PyObject *old = m->headers;
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete attribute 'headers'");
        return -1;
    }
    Py_INCREF(value);
    m->headers = value;
    Py_XDECREF(old);
    /* New headers: the list derives from them again. */
    Py_CLEAR(m->header_list);
    return 0;
}

/* The dict of a list of (str, value) header pairs (the last value of a
 * repeated key wins); TypeError naming the bad item. */
static PyObject *pairs_dict(PyObject *list)
{
    PyObject *d = PyDict_New();
    Py_ssize_t i, n = PyList_Size(list);
    if (d == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *item = PyList_GetItem(list, i), *k, *v;
        if (!PyTuple_Check(item) || PyTuple_Size(item) != 2 || !PyUnicode_Check(PyTuple_GetItem(item, 0))) {
            PyErr_Format(PyExc_TypeError, "header_list[%zd] must be a (str, bytes | None) tuple", i);
            Py_DECREF(d);
            return NULL;
        }
        k = PyTuple_GetItem(item, 0);
        v = PyTuple_GetItem(item, 1);
        if (PyDict_SetItem(d, k, v) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

/* Stores a header list and the dict made from it. */
static int set_header_pairs(MessageFields *m, PyObject *list)
{
    PyObject *d = pairs_dict(list), *oldh = m->headers, *oldl = m->header_list;
    if (d == NULL)
        return -1;
    Py_INCREF(list);
    m->header_list = list;
    m->headers = d;
    Py_XDECREF(oldh);
    Py_XDECREF(oldl);
    return 0;
}

static PyObject *header_list_get(PyObject *self, void *closure)
{
    MessageFields *m = (MessageFields *)self;
    (void)closure;
    if (m->header_list != NULL) {
        Py_INCREF(m->header_list);
        return m->header_list;
    }
    if (m->headers == NULL)
        return PyList_New(0);
    return PyMapping_Items(m->headers);
}

static int header_list_set(PyObject *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete attribute 'header_list'");
        return -1;
    }
    if (!PyList_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "header_list must be a list of (str, bytes | None) tuples");
        return -1;
    }
    return set_header_pairs((MessageFields *)self, value);
}


/* Message(topic, partition, offset, value, headers=None, timestamp=0.0,
 * key=None): the constructor of gofka.Message (the pure-Python base has the
 * same one). headers None stays unset (an empty dict on first access); a
 * list of (str, value) tuples becomes header_list, and headers the dict
 * made from it. */
static int fields_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"topic", "partition", "offset", "value", "headers", "timestamp", "key", NULL};
    MessageFields *m = (MessageFields *)self;
    PyObject *topic, *partition, *offset, *value, *headers = Py_None, *timestamp = NULL, *key = Py_None;
    PyObject *old[7];
    int i;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO|OOO:Message", kwlist, &topic, &partition, &offset, &value,
                                     &headers, &timestamp, &key))
        return -1;
    if (timestamp == NULL) {
        if ((timestamp = PyFloat_FromDouble(0.0)) == NULL)
            return -1;
    } else {
        Py_INCREF(timestamp);
    }
    old[0] = m->topic;
    old[1] = m->partition;
    old[2] = m->offset;
    old[3] = m->value;
    old[4] = m->headers;
    old[5] = m->timestamp;
    old[6] = m->key;
    Py_INCREF(topic);
    m->topic = topic;
    Py_INCREF(partition);
    m->partition = partition;
    Py_INCREF(offset);
    m->offset = offset;
    Py_INCREF(value);
    m->value = value;
    if (headers == Py_None) {
        m->headers = NULL;
    } else {
        Py_INCREF(headers);
        m->headers = headers;
    }
    m->timestamp = timestamp;
    Py_INCREF(key);
    m->key = key;
    for (i = 0; i < 7; i++)
        Py_XDECREF(old[i]);
    Py_CLEAR(m->header_list);
    if (m->headers != NULL && PyList_Check(m->headers)) {
        PyObject *list = m->headers;
        m->headers = NULL;
        i = set_header_pairs(m, list);
        Py_DECREF(list);
        return i;
    }
    return 0;
}

/* Instances of gofka.Message itself are untracked by the cyclic collector
 * (see the top of this file); subclasses with a __dict__ stay tracked. */
static PyObject *fields_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *self = PyType_GenericAlloc(type, 0);
    (void)args;
    (void)kwds;
    if (self != NULL && type == message_class && message_class_gc)
        PyObject_GC_UnTrack(self);
    return self;
}

static PyMemberDef fields_members[] = {
    {"topic", T_OBJECT_EX, offsetof(MessageFields, topic), 0, "topic name"},
    {"partition", T_OBJECT_EX, offsetof(MessageFields, partition), 0, "partition number"},
    {"offset", T_OBJECT_EX, offsetof(MessageFields, offset), 0, "offset of the record"},
    {"value", T_OBJECT_EX, offsetof(MessageFields, value), 0, "record value or None"},
    {"timestamp", T_OBJECT_EX, offsetof(MessageFields, timestamp), 0, "record timestamp, seconds"},
    {"key", T_OBJECT_EX, offsetof(MessageFields, key), 0, "record key or None"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef fields_getset[] = {
    {"headers", headers_get, headers_set, "dict of header name -> bytes or None", NULL},
    {"header_list", header_list_get, header_list_set, "every header in order, as (name, bytes or None)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot fields_slots[] = {
    {Py_tp_dealloc, (void *)fields_dealloc},
    {Py_tp_members, fields_members},
    {Py_tp_getset, fields_getset},
    {Py_tp_new, (void *)fields_new},
    {Py_tp_init, (void *)fields_init},
    {Py_tp_doc, (void *)"MessageFields(topic, partition, offset, value, headers=None, timestamp=0.0, key=None)\n--\n\n"
                        "Storage and constructor of gofka.Message (see gofka/message.py)."},
    {0, NULL},
};

static PyType_Spec fields_spec = {
    "gofka._speedups.MessageFields",
    sizeof(MessageFields),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    fields_slots,
};

/* ------------------------------------------------------------------ */

static PyObject *set_message_class(PyObject *module, PyObject *cls)
{
    PyObject *size;
    Py_ssize_t basicsize;
    (void)module;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, fields_type)) {
        PyErr_SetString(PyExc_TypeError, "set_message_class: not a subclass of MessageFields");
        return NULL;
    }
    /* parse_poll fills only MessageFields' slots: the class must not
     * add storage (a __dict__ or slots) that would stay uninitialised. */
    size = PyObject_GetAttrString(cls, "__basicsize__");
    if (size == NULL)
        return NULL;
    basicsize = PyLong_AsSsize_t(size);
    Py_DECREF(size);
    if (basicsize == -1 && PyErr_Occurred())
        return NULL;
    if (basicsize != (Py_ssize_t)sizeof(MessageFields)) {
        PyErr_SetString(PyExc_TypeError, "set_message_class: the class adds storage (declare __slots__ = ())");
        return NULL;
    }
    Py_INCREF(cls);
    Py_XDECREF(message_class);
    message_class = (PyTypeObject *)cls;
    message_class_gc = (PyType_GetFlags(message_class) & Py_TPFLAGS_HAVE_GC) != 0;
    Py_RETURN_NONE;
}

/* Little-endian reads, the only ones of this module (every packed format
 * is little-endian on every host); callers cast for the unsigned fields. */
static int32_t rd32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static int64_t rd64(const unsigned char *p)
{
    return (int64_t)((uint64_t)(uint32_t)rd32(p) | (uint64_t)(uint32_t)rd32(p + 4) << 32);
}

static PyObject *malformed(const char *what)
{
    PyErr_Format(PyExc_ValueError, "gofka: malformed messages buffer (%s)", what);
    return NULL;
}

/* A byte range [start, end) of the buffer as bytes; start < 0 means None. */
static PyObject *range_bytes(const unsigned char *base, Py_ssize_t len, int32_t start, int32_t end)
{
    if (start < 0) {
        Py_INCREF(Py_None);
        return Py_None;
    }
    if (end < start || (Py_ssize_t)end > len)
        return malformed("record range");
    return PyBytes_FromStringAndSize((const char *)base + start, (Py_ssize_t)end - start);
}

/* The headers block [pos, end): i32 count, then per header i32 key length,
 * key (UTF-8), i32 value length (-1: null), value. A dict, or with
 * as_list a list of (key, value) tuples in order (every header, repeated
 * keys included). */
static PyObject *parse_headers(const unsigned char *base, Py_ssize_t pos, Py_ssize_t end, int as_list)
{
    PyObject *headers;
    int32_t n, i;
    if (pos < 0 || end < pos || end - pos < 4)
        return malformed("headers range");
    n = rd32(base + pos);
    pos += 4;
    if (n < 0 || n > (end - pos) / 8)
        return malformed("header count");
    headers = as_list ? PyList_New(n) : PyDict_New();
    if (headers == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        int32_t kl, vl;
        PyObject *k, *v;
        int rc;
        if (end - pos < 4)
            goto bad;
        kl = rd32(base + pos);
        pos += 4;
        if (kl < 0 || end - pos < (Py_ssize_t)kl + 4)
            goto bad;
        k = PyUnicode_DecodeUTF8((const char *)base + pos, kl, "replace");
        if (k == NULL)
            goto fail;
        pos += kl;
        vl = rd32(base + pos);
        pos += 4;
        if (vl < 0) {
            Py_INCREF(Py_None);
            v = Py_None;
        } else if (end - pos < vl) {
            Py_DECREF(k);
            goto bad;
        } else {
            v = PyBytes_FromStringAndSize((const char *)base + pos, vl);
            pos += vl;
            if (v == NULL) {
                Py_DECREF(k);
                goto fail;
            }
        }
        if (as_list) {
            PyObject *pair = PyTuple_Pack(2, k, v);
            Py_DECREF(k);
            Py_DECREF(v);
            if (pair == NULL)
                goto fail;
            PyList_SetItem(headers, i, pair);
            continue;
        }
        rc = PyDict_SetItem(headers, k, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (rc < 0)
            goto fail;
    }
    return headers;
bad:
    Py_DECREF(headers);
    return malformed("header");
fail:
    Py_DECREF(headers);
    return NULL;
}

#define HEAD_SIZE GOFKA_MESSAGE_HEAD_SIZE

/* The `count` message heads at byte `pos` of [base, base+len), as a list. */
static PyObject *build_messages(const unsigned char *base, Py_ssize_t len, Py_ssize_t pos, Py_ssize_t count,
                                PyObject *topics)
{
    PyObject *out;
    Py_ssize_t ntopics = PyList_Size(topics), i;
    if (message_class == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gofka._speedups: set_message_class was not called");
        return NULL;
    }
    if (pos < 0 || count < 0 || pos > len || count > (len - pos) / HEAD_SIZE)
        return malformed("message count");
    out = PyList_New(count);
    if (out == NULL)
        return NULL;
    for (i = 0; i < count; i++) {
        const unsigned char *h = base + pos + i * HEAD_SIZE;
        int32_t ti = rd32(h + GOFKA_MESSAGE_HEAD_TOPIC_INDEX_OFFSET);
        int32_t hs = rd32(h + GOFKA_MESSAGE_HEAD_HEADERS_START_OFFSET), he = rd32(h + GOFKA_MESSAGE_HEAD_HEADERS_END_OFFSET);
        MessageFields *m;
        PyObject *topic;
        if (ti < 0 || ti >= ntopics) {
            Py_DECREF(out);
            return malformed("topic index");
        }
        m = (MessageFields *)PyType_GenericAlloc(message_class, 0);
        if (m == NULL)
            goto fail;
        /* A Python subclass is GC-tracked, but the collector cannot see
         * MessageFields' slots (no tp_traverse), so tracking would only
         * cost time: every 700 allocations a collection walking them. */
        if (message_class_gc)
            PyObject_GC_UnTrack(m);
        /* Owned by the list from here: a failure below frees it with it. */
        PyList_SetItem(out, i, (PyObject *)m);
        topic = PyList_GetItem(topics, ti);
        Py_INCREF(topic);
        m->topic = topic;
        if ((m->partition = PyLong_FromLong(rd32(h + GOFKA_MESSAGE_HEAD_PARTITION_OFFSET))) == NULL)
            goto fail;
        if ((m->offset = PyLong_FromLongLong(rd64(h + GOFKA_MESSAGE_HEAD_OFFSET_OFFSET))) == NULL)
            goto fail;
        if ((m->timestamp = PyFloat_FromDouble((double)rd64(h + GOFKA_MESSAGE_HEAD_TIMESTAMP_MS_OFFSET) / 1000.0)) == NULL)
            goto fail;
        if ((m->key = range_bytes(base, len, rd32(h + GOFKA_MESSAGE_HEAD_KEY_START_OFFSET),
                                  rd32(h + GOFKA_MESSAGE_HEAD_KEY_END_OFFSET))) == NULL)
            goto fail;
        if ((m->value = range_bytes(base, len, rd32(h + GOFKA_MESSAGE_HEAD_VALUE_START_OFFSET),
                                    rd32(h + GOFKA_MESSAGE_HEAD_VALUE_END_OFFSET))) == NULL)
            goto fail;
        if (hs >= 0) {
            if (he < hs || (Py_ssize_t)he > len) {
                Py_DECREF(out);
                return malformed("headers range");
            }
            if ((m->headers = parse_headers(base, hs, he, 0)) == NULL)
                goto fail;
            /* A repeated key: keep every header in header_list too (the
             * count was checked by parse_headers). */
            if (PyDict_Size(m->headers) < (Py_ssize_t)rd32(base + hs) &&
                (m->header_list = parse_headers(base, hs, he, 1)) == NULL)
                goto fail;
        }
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* A whole messages buffer: (messages, events), events a list of
 * (kind, [(topic, partition), ...]). */
static PyObject *build_poll(const unsigned char *base, Py_ssize_t len)
{
    PyObject *topics = NULL, *events = NULL, *msgs = NULL, *result;
    int32_t nmsgs, nevents, ntopics, i, j;
    Py_ssize_t pos = GOFKA_POLL_HEADER_SIZE;
    if (len < GOFKA_POLL_HEADER_SIZE)
        return malformed("header");
    nmsgs = rd32(base + GOFKA_POLL_HEADER_MESSAGE_COUNT_OFFSET);
    nevents = rd32(base + GOFKA_POLL_HEADER_EVENT_COUNT_OFFSET);
    ntopics = rd32(base + GOFKA_POLL_HEADER_TOPIC_COUNT_OFFSET);
    if (nmsgs < 0 || nevents < 0 || ntopics < 0 || ntopics > (len - pos) / 4 || nevents > (len - pos) / 8)
        return malformed("header");
    if ((topics = PyList_New(ntopics)) == NULL)
        return NULL;
    for (i = 0; i < ntopics; i++) {
        int32_t tl;
        PyObject *t;
        if (len - pos < 4 || (tl = rd32(base + pos)) < 0 || len - pos - 4 < tl) {
            malformed("topic");
            goto fail;
        }
        if ((t = PyUnicode_DecodeUTF8((const char *)base + pos + 4, tl, "strict")) == NULL)
            goto fail;
        PyList_SetItem(topics, i, t);
        pos += 4 + tl;
    }
    if ((events = PyList_New(nevents)) == NULL)
        goto fail;
    for (i = 0; i < nevents; i++) {
        int32_t kind, n;
        PyObject *tps, *ev;
        if (len - pos < 8) {
            malformed("event");
            goto fail;
        }
        kind = rd32(base + pos);
        n = rd32(base + pos + 4);
        pos += 8;
        if (n < 0 || n > (len - pos) / 8) {
            malformed("event size");
            goto fail;
        }
        if ((tps = PyList_New(n)) == NULL)
            goto fail;
        for (j = 0; j < n; j++) {
            int32_t ti = rd32(base + pos);
            PyObject *tp;
            if (ti < 0 || ti >= ntopics) {
                Py_DECREF(tps);
                malformed("event topic index");
                goto fail;
            }
            tp = Py_BuildValue("(Oi)", PyList_GetItem(topics, ti), (int)rd32(base + pos + 4));
            if (tp == NULL) {
                Py_DECREF(tps);
                goto fail;
            }
            PyList_SetItem(tps, j, tp);
            pos += 8;
        }
        if ((ev = Py_BuildValue("(iN)", (int)kind, tps)) == NULL)
            goto fail;
        PyList_SetItem(events, i, ev);
    }
    if ((msgs = build_messages(base, len, pos, nmsgs, topics)) == NULL)
        goto fail;
    Py_DECREF(topics);
    result = Py_BuildValue("(NN)", msgs, events);
    return result;
fail:
    Py_XDECREF(topics);
    Py_XDECREF(events);
    return NULL;
}

/* parse_poll(buf): the messages buffer of an asynchronous poll's event. */
static PyObject *parse_poll(PyObject *module, PyObject *buf)
{
    char *data;
    Py_ssize_t length;
    (void)module;
    if (PyBytes_AsStringAndSize(buf, &data, &length) < 0)
        return NULL;
    return build_poll((const unsigned char *)data, length);
}


/* ------------------------------------------------------------------ */
/* PendingRecords: Producer.produce() at C speed.
 *
 * The non-blocking produce() of gofka.Producer appends one record tuple
 * per call to a list that the producer's push thread hands to the library
 * in batches (producer.py: Producer._push). This type owns that list and
 * implements produce() itself: the common argument types (str topic seen
 * before, bytes or None value and key, int or default partition, no
 * headers, no timestamp) are checked here; anything else goes through
 * `normalize`, the Python function that validates and converts every
 * argument (producer.py: normalize_record), so validation and its error
 * messages live in one place. The record tuple is the one producer.py
 * documents: (topic_b, partition, key, value, ts_ms, headers_b, size,
 * callback, topic, headers).
 *
 * Calls back into the owning Producer (held weakly: no reference cycle)
 * for what needs its state: _closed_error(), _too_large(size) (both
 * return the exception to raise), _push() (-> bool) when push_records
 * records are pending, and _wake_flusher() when the list was empty.
 *
 * Thread-safety: produce, take and the attributes run under the GIL and
 * do not release it between the closed check and the append, so take()
 * (swap the list) needs no lock of its own.
 */

typedef struct {
    PyObject_HEAD
    PyObject *pending;    /* list of record tuples not yet taken */
    PyObject *topics;     /* dict str -> encoded topic (at most 10,000) */
    PyObject *normalize;  /* normalize_record(topic, value, key, partition, headers, timestamp) */
    PyObject *default_partition; /* PARTITION_DEFAULT sentinel */
    PyObject *owner;      /* weakref to the Producer */
    long long produced;   /* records accepted */
    long long record_limit;
    Py_ssize_t push_records;
    char closed;          /* attribute `closed` (T_BOOL) */
} PendingRecords;

static int pending_traverse(PyObject *self, visitproc visit, void *arg)
{
    PendingRecords *p = (PendingRecords *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(p->pending);
    Py_VISIT(p->topics);
    Py_VISIT(p->normalize);
    Py_VISIT(p->default_partition);
    Py_VISIT(p->owner);
    return 0;
}

static int pending_clear(PyObject *self)
{
    PendingRecords *p = (PendingRecords *)self;
    Py_CLEAR(p->pending);
    Py_CLEAR(p->topics);
    Py_CLEAR(p->normalize);
    Py_CLEAR(p->default_partition);
    Py_CLEAR(p->owner);
    return 0;
}

/* tp_dealloc of the module's GC-tracked types: untrack, clear (the
 * type's own tp_clear), free, and drop the heap type's reference. */
static void gc_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    inquiry tp_clear = (inquiry)PyType_GetSlot(tp, Py_tp_clear);
    PyObject_GC_UnTrack(self);
    tp_clear(self);
    tp_free(self);
    Py_DECREF(tp);
}

static int pending_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"owner", "normalize", "default_partition", "record_limit", "push_records", NULL};
    PendingRecords *p = (PendingRecords *)self;
    PyObject *owner, *normalize, *dflt, *ref;
    long long limit;
    Py_ssize_t push;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOLn:PendingRecords", kwlist, &owner, &normalize, &dflt, &limit,
                                     &push))
        return -1;
    if (!PyCallable_Check(normalize)) {
        PyErr_SetString(PyExc_TypeError, "normalize must be callable");
        return -1;
    }
    if (push < 1) {
        PyErr_SetString(PyExc_ValueError, "push_records must be positive");
        return -1;
    }
    if ((ref = PyWeakref_NewRef(owner, NULL)) == NULL)
        return -1;
    pending_clear(self);
    p->owner = ref;
    p->pending = PyList_New(0);
    p->topics = PyDict_New();
    if (p->pending == NULL || p->topics == NULL)
        return -1;
    Py_INCREF(normalize);
    p->normalize = normalize;
    Py_INCREF(dflt);
    p->default_partition = dflt;
    p->record_limit = limit;
    p->push_records = push;
    p->produced = 0;
    p->closed = 0;
    return 0;
}

/* owner.<name>(*args) or NULL with an exception; a dead owner is "closed". */
static PyObject *owner_call(PendingRecords *p, const char *name, PyObject *arg)
{
    PyObject *owner = PyWeakref_GetObject(p->owner), *fn, *res;
    if (owner == NULL)
        return NULL;
    if (owner == Py_None) {
        PyErr_SetString(PyExc_RuntimeError, "the producer was garbage-collected");
        return NULL;
    }
    Py_INCREF(owner);
    fn = PyObject_GetAttrString(owner, name);
    Py_DECREF(owner);
    if (fn == NULL)
        return NULL;
    res = arg == NULL ? PyObject_CallObject(fn, NULL) : PyObject_CallFunctionObjArgs(fn, arg, NULL);
    Py_DECREF(fn);
    return res;
}

/* Raises the exception owner.<name>(...) returns; always NULL. */
static PyObject *raise_from_owner(PendingRecords *p, const char *name, PyObject *arg)
{
    PyObject *exc = owner_call(p, name, arg);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* A C function's parameters, bound the way Python binds them. The names
 * are interned once (at import) and compared by identity first:
 * PyArg_ParseTupleAndKeywords would build a str from each C keyword name on
 * every call, which cost more than the rest of produce(). */
typedef struct {
    const char *fname;           /* for error messages */
    int nargs;                   /* parameters */
    int npositional;             /* the first npositional may be positional */
    int nrequired;               /* the first nrequired must be passed */
    const char *const *names;    /* nargs names */
    PyObject **kwnames;          /* nargs interned names, made at import */
} ArgSpec;

static int intern_names(const ArgSpec *spec)
{
    int i;
    for (i = 0; i < spec->nargs; i++)
        if (spec->kwnames[i] == NULL && (spec->kwnames[i] = PyUnicode_InternFromString(spec->names[i])) == NULL)
            return -1;
    return 0;
}

/* Binds args/kwds to argv (borrowed references; NULL = not passed). */
static int bind_args(const ArgSpec *spec, PyObject *args, PyObject *kwds, PyObject **argv)
{
    Py_ssize_t n = PyTuple_Size(args), i, pos = 0;
    PyObject *k, *v;
    for (i = 0; i < spec->nargs; i++)
        argv[i] = NULL;
    if (n > spec->npositional) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional arguments (%zd given)", spec->fname,
                     spec->npositional, n);
        return -1;
    }
    for (i = 0; i < n; i++)
        argv[i] = PyTuple_GetItem(args, i);
    if (kwds != NULL) {
        while (PyDict_Next(kwds, &pos, &k, &v)) {
            int j, found = -1;
            for (j = 0; j < spec->nargs && found < 0; j++)
                if (k == spec->kwnames[j])
                    found = j;
            for (j = 0; j < spec->nargs && found < 0; j++) {
                int eq = PyObject_RichCompareBool(k, spec->kwnames[j], Py_EQ);
                if (eq < 0)
                    return -1;
                if (eq)
                    found = j;
            }
            if (found < 0) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", spec->fname, k);
                return -1;
            }
            if (found < n) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", spec->fname,
                             spec->names[found]);
                return -1;
            }
            argv[found] = v;
        }
    }
    for (i = 0; i < spec->nrequired; i++)
        if (argv[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", spec->fname, spec->names[i]);
            return -1;
        }
    return 0;
}

/* produce()'s parameters; the last is keyword-only. */
#define PRODUCE_NARGS 8
static const char *const produce_names[PRODUCE_NARGS] = {"topic", "value", "key", "partition",
                                                         "headers", "timestamp", "on_delivery", "callback"};
static PyObject *produce_kwnames[PRODUCE_NARGS];
static const ArgSpec produce_spec = {"produce", PRODUCE_NARGS, 7, 1, produce_names, produce_kwnames};

static PyObject *pending_produce(PyObject *self, PyObject *args, PyObject *kwds)
{
    PendingRecords *p = (PendingRecords *)self;
    PyObject *argv[PRODUCE_NARGS];
    PyObject *topic, *value, *key, *partition, *headers, *timestamp, *on_delivery, *callback, *cb;
    PyObject *topic_b = NULL, *kb = NULL, *vb = NULL, *part = NULL, *ts = NULL, *hb = NULL, *rec = NULL;
    PyObject *result = NULL;
    long long size;
    int fast;
    int a;
    if (bind_args(&produce_spec, args, kwds, argv) < 0)
        return NULL;
    for (a = 0; a < PRODUCE_NARGS; a++)
        if (argv[a] == NULL && a != 3) /* partition: NULL = not passed */
            argv[a] = Py_None;
    topic = argv[0];
    value = argv[1];
    key = argv[2];
    partition = argv[3];
    headers = argv[4];
    timestamp = argv[5];
    on_delivery = argv[6];
    callback = argv[7];
    if (partition == NULL)
        partition = p->default_partition;
    if (on_delivery != Py_None && callback != Py_None) {
        PyErr_SetString(PyExc_TypeError, "pass on_delivery or callback, not both");
        return NULL;
    }
    cb = on_delivery != Py_None ? on_delivery : callback;
    if (cb != Py_None && !PyCallable_Check(cb)) {
        PyErr_SetString(PyExc_TypeError, "on_delivery must be callable");
        return NULL;
    }
    /* The fast path: types checked exactly, as the Python code does. */
    fast = PyUnicode_CheckExact(topic) && (value == Py_None || PyBytes_CheckExact(value)) &&
           (key == Py_None || PyBytes_CheckExact(key)) && headers == Py_None && timestamp == Py_None;
    if (fast) {
        topic_b = PyDict_GetItemWithError(p->topics, topic); /* borrowed */
        if (topic_b == NULL && PyErr_Occurred())
            return NULL;
        Py_XINCREF(topic_b);
        if (partition == p->default_partition || partition == Py_None) {
            part = PyLong_FromLong(-1);
        } else if (PyLong_CheckExact(partition)) {
            long long v = PyLong_AsLongLong(partition);
            if (v == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                fast = 0;
            } else if (v >= -1 && v <= 2147483647LL) {
                Py_INCREF(partition);
                part = partition;
            } else {
                fast = 0;
            }
        } else {
            fast = 0;
        }
        fast = fast && topic_b != NULL;
    }
    if (fast) {
        Py_INCREF(value);
        vb = value;
        Py_INCREF(key);
        kb = key;
        ts = PyLong_FromLong(-1);
        hb = PyBytes_FromStringAndSize(NULL, 0);
        if (part == NULL || ts == NULL || hb == NULL)
            goto done;
    } else {
        PyObject *norm;
        Py_CLEAR(topic_b);
        Py_CLEAR(part);
        norm = PyObject_CallFunctionObjArgs(p->normalize, topic, value, key, partition, headers, timestamp, NULL);
        if (norm == NULL)
            goto done;
        if (!PyArg_ParseTuple(norm, "OOOOOO", &topic_b, &part, &kb, &vb, &ts, &hb)) {
            Py_DECREF(norm);
            goto done;
        }
        Py_INCREF(topic_b);
        Py_INCREF(part);
        Py_INCREF(kb);
        Py_INCREF(vb);
        Py_INCREF(ts);
        Py_INCREF(hb);
        Py_DECREF(norm);
        if (!PyBytes_Check(topic_b) || !PyBytes_Check(hb) || (kb != Py_None && !PyBytes_Check(kb)) ||
            (vb != Py_None && !PyBytes_Check(vb))) {
            PyErr_SetString(PyExc_TypeError, "normalize returned unexpected types");
            goto done;
        }
        if (PyUnicode_CheckExact(topic) && PyDict_Size(p->topics) < 10000 && PyDict_SetItem(p->topics, topic, topic_b) < 0)
            goto done;
    }
    size = 97 + (kb != Py_None ? PyBytes_Size(kb) : 0) + (vb != Py_None ? PyBytes_Size(vb) : 0) + 2 * PyBytes_Size(hb);
    if (size > p->record_limit) {
        PyObject *n = PyLong_FromLongLong(size);
        if (n != NULL) {
            raise_from_owner(p, "_too_large", n);
            Py_DECREF(n);
        }
        goto done;
    }
    if (p->closed) {
        raise_from_owner(p, "_closed_error", NULL);
        goto done;
    }
    if (PyList_Size(p->pending) >= p->push_records) {
        /* Push what is pending from this thread (waits for buffer room); a
         * push that gave up fails its records through their callbacks, and
         * this record is refused (owner._queue_full() is the error). */
        PyObject *ok = owner_call(p, "_push", NULL);
        int truth;
        if (ok == NULL)
            goto done;
        truth = PyObject_IsTrue(ok);
        Py_DECREF(ok);
        if (truth < 0)
            goto done;
        if (!truth) {
            raise_from_owner(p, "_queue_full", NULL);
            goto done;
        }
        if (p->closed) { /* closed while pushing */
            raise_from_owner(p, "_closed_error", NULL);
            goto done;
        }
    }
    {
        PyObject *items[10];
        int k;
        items[0] = topic_b;
        items[1] = part;
        items[2] = kb;
        items[3] = vb;
        items[4] = ts;
        items[5] = hb;
        items[6] = NULL; /* size */
        items[7] = cb;
        items[8] = topic;
        items[9] = headers;
        if ((rec = PyTuple_New(10)) == NULL)
            goto done;
        for (k = 0; k < 10; k++) {
            PyObject *item = k == 6 ? PyLong_FromLongLong(size) : items[k];
            if (item == NULL)
                goto done;
            if (k != 6)
                Py_INCREF(item);
            PyTuple_SetItem(rec, k, item);
        }
    }
    if (PyList_Append(p->pending, rec) < 0)
        goto done;
    p->produced++;
    if (PyList_Size(p->pending) == 1) {
        PyObject *r = owner_call(p, "_wake_flusher", NULL);
        if (r == NULL)
            goto done;
        Py_DECREF(r);
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_XDECREF(topic_b);
    Py_XDECREF(part);
    Py_XDECREF(kb);
    Py_XDECREF(vb);
    Py_XDECREF(ts);
    Py_XDECREF(hb);
    Py_XDECREF(rec);
    return result;
}

static PyObject *pending_take(PyObject *self, PyObject *unused)
{
    PendingRecords *p = (PendingRecords *)self;
    PyObject *fresh = PyList_New(0), *out;
    (void)unused;
    if (fresh == NULL)
        return NULL;
    out = p->pending;
    p->pending = fresh;
    return out;
}

static Py_ssize_t pending_len(PyObject *self)
{
    return PyList_Size(((PendingRecords *)self)->pending);
}

static PyMethodDef pending_methods[] = {
    {"produce", (PyCFunction)(void (*)(void))pending_produce, METH_VARARGS | METH_KEYWORDS,
     "produce(topic, value=None, key=None, partition=<default>, headers=None, timestamp=None, on_delivery=None, "
     "*, callback=None): see gofka.Producer.produce."},
    {"take", pending_take, METH_NOARGS, "take() -> the pending records, leaving none."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef pending_members[] = {
    {"closed", T_BOOL, offsetof(PendingRecords, closed), 0, "refuse further records (CLIENT_CLOSED)"},
    {"produced", T_LONGLONG, offsetof(PendingRecords, produced), READONLY, "records accepted so far"},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot pending_slots[] = {
    {Py_tp_members, pending_members},
    {Py_tp_dealloc, (void *)gc_dealloc},
    {Py_tp_traverse, (void *)pending_traverse},
    {Py_tp_clear, (void *)pending_clear},
    {Py_tp_init, (void *)pending_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_methods, pending_methods},
    {Py_sq_length, (void *)pending_len},
    {Py_tp_doc, (void *)"The records produce() accepted and the push thread has not taken (see producer.py)."},
    {0, NULL},
};

static PyType_Spec pending_spec = {
    "gofka._speedups.PendingRecords",
    sizeof(PendingRecords),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    pending_slots,
};


/* ------------------------------------------------------------------ */
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
    PyObject *create_future;     /* loop.create_future */
    PyObject *call_soon;         /* loop.call_soon */
    Py_ssize_t push_records;     /* pack at once when the buffer holds this many */
    /* Attributes (T_BOOL): */
    char scheduled;              /* pack is scheduled */
    char closed;                 /* the producer is closing: every send takes the slow path (which raises) */
    char partitioner;            /* a custom partitioner is set: slow path for the default partition */
} AsyncSends;

static PyObject *get_running_loop; /* asyncio._get_running_loop */
static PyObject *empty_bytes, *minus_one, *zero, *str_done, *str_set_result;

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
static const ArgSpec send_spec = {"send", SEND_NARGS, 5, 2, send_names, send_kwnames};

/* The slow path: slow_send(owner, *argv) with the arguments as passed. */
static PyObject *sends_slow(AsyncSends *q, PyObject *args, PyObject *kwds)
{
    PyObject *owner = PyWeakref_GetObject(q->owner), *full, *res;
    Py_ssize_t n, i;
    if (owner == NULL)
        return NULL;
    if (owner == Py_None) {
        PyErr_SetString(PyExc_RuntimeError, "the producer was garbage-collected");
        return NULL;
    }
    n = PyTuple_Size(args);
    if ((full = PyTuple_New(n + 1)) == NULL)
        return NULL;
    Py_INCREF(owner);
    PyTuple_SetItem(full, 0, owner);
    for (i = 0; i < n; i++) {
        PyObject *a = PyTuple_GetItem(args, i);
        Py_INCREF(a);
        PyTuple_SetItem(full, i + 1, a);
    }
    res = PyObject_Call(q->slow_send, full, kwds);
    Py_DECREF(full);
    return res;
}

static PyObject *sends_send(PyObject *self, PyObject *args, PyObject *kwds)
{
    AsyncSends *q = (AsyncSends *)self;
    PyObject *argv[SEND_NARGS];
    PyObject *topic, *value, *partition, *key, *topic_b, *part, *running, *fut, *rec, *size;
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
    if ((running = PyObject_CallObject(get_running_loop, NULL)) == NULL)
        return NULL;
    Py_DECREF(running); /* identity only; q->loop keeps the loop alive */
    if (running != q->loop)
        return sends_slow(q, args, kwds);
    if ((fut = PyObject_CallObject(q->create_future, NULL)) == NULL)
        return NULL;
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
    PyObject *cf = NULL, *cs = NULL;
    if (loop != Py_None) {
        if ((cf = PyObject_GetAttrString(loop, "create_future")) == NULL)
            return NULL;
        if ((cs = PyObject_GetAttrString(loop, "call_soon")) == NULL) {
            Py_DECREF(cf);
            return NULL;
        }
        Py_INCREF(loop);
    }
    Py_CLEAR(q->loop);
    Py_CLEAR(q->create_future);
    Py_CLEAR(q->call_soon);
    if (loop != Py_None) {
        q->loop = loop;
        q->create_future = cf;
        q->call_soon = cs;
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

static PyType_Spec sends_spec = {
    "gofka._speedups.AsyncSends",
    sizeof(AsyncSends),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    sends_slots,
};

/* resolve_sends(futures, payload): the success path of a batch event for
 * one future per record (async_producer._send_deliver): when the payload
 * holds exactly one result (GOFKA_BATCH_RESULT_*: int32 code, int32
 * partition, int64 offset, little-endian) per future, every future not already done (its
 * awaiter may have cancelled it) gets its offset, and the result is True.
 * Otherwise nothing is touched and the result is False. */
static PyObject *resolve_sends(PyObject *module, PyObject *args)
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

/* ------------------------------------------------------------------ */
/* chunk_records(records, limit) and serve_entry(entry, now, result_error,
 * headers_dict): the per-record loops of Producer._push and
 * Producer._serve (producer.py has their pure-Python twins,
 * _chunk_records_py and _serve_entry_py, whose docstrings define them). */

/* Whether a record tuple can take the columnar path: no key, no
 * timestamp, no headers. */
static int record_is_simple(PyObject *rec)
{
    PyObject *ts = PyTuple_GetItem(rec, 4), *hb = PyTuple_GetItem(rec, 5);
    long long t;
    if (ts == NULL || hb == NULL)
        return -1;
    if (PyTuple_GetItem(rec, 2) != Py_None)
        return 0;
    t = PyLong_AsLongLong(ts);
    if (t == -1 && PyErr_Occurred())
        return -1;
    if (t != -1)
        return 0;
    return PyObject_IsTrue(hb) ? 0 : 1;
}

/* Appends (topic_b, part, recs[a:b], values-or-None) to out. */
static int append_chunk(PyObject *out, PyObject *topic_b, PyObject *part, PyObject *recs, Py_ssize_t a, Py_ssize_t b)
{
    PyObject *chunk, *values, *item;
    Py_ssize_t i;
    int simple = 1, rc;
    if (a == 0 && b == PyList_Size(recs)) {
        chunk = recs;
        Py_INCREF(chunk);
    } else if ((chunk = PyList_GetSlice(recs, a, b)) == NULL) {
        return -1;
    }
    for (i = 0; i < b - a && simple == 1; i++)
        simple = record_is_simple(PyList_GetItem(chunk, i));
    if (simple < 0) {
        Py_DECREF(chunk);
        return -1;
    }
    if (simple) {
        if ((values = PyList_New(b - a)) == NULL) {
            Py_DECREF(chunk);
            return -1;
        }
        for (i = 0; i < b - a; i++) {
            PyObject *v = PyTuple_GetItem(PyList_GetItem(chunk, i), 3);
            Py_INCREF(v);
            PyList_SetItem(values, i, v);
        }
    } else {
        Py_INCREF(Py_None);
        values = Py_None;
    }
    item = Py_BuildValue("(OONN)", topic_b, part, chunk, values);
    if (item == NULL)
        return -1;
    rc = PyList_Append(out, item);
    Py_DECREF(item);
    return rc;
}

static PyObject *chunk_records(PyObject *module, PyObject *args)
{
    PyObject *pend, *groups = NULL, *order = NULL, *out = NULL;
    long long limit;
    Py_ssize_t n, i, max_records = PY_SSIZE_T_MAX, epoch = 0;
    int prev_auto = -1; /* whether the previous record's partition was -1 (none yet) */
    (void)module;
    if (!PyArg_ParseTuple(args, "O!L|n:chunk_records", &PyList_Type, &pend, &limit, &max_records))
        return NULL;
    if (max_records < 1) {
        PyErr_SetString(PyExc_ValueError, "chunk_records: max_records must be positive");
        return NULL;
    }
    n = PyList_Size(pend);
    if ((groups = PyDict_New()) == NULL || (order = PyList_New(0)) == NULL || (out = PyList_New(0)) == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        PyObject *rec = PyList_GetItem(pend, i), *key, *g;
        int rc;
        if (!PyTuple_Check(rec) || PyTuple_Size(rec) < 7) {
            PyErr_SetString(PyExc_TypeError, "chunk_records: records must be record tuples");
            goto fail;
        }
        /* The common case, every record to one partition: no dict. */
        if (i > 0 && PyList_Size(order) == 1) {
            PyObject *k0 = PyList_GetItem(order, 0);
            PyObject *t0 = PyTuple_GetItem(k0, 0), *p0 = PyTuple_GetItem(k0, 1);
            PyObject *t = PyTuple_GetItem(rec, 0), *p = PyTuple_GetItem(rec, 1);
            if ((t == t0 || PyObject_RichCompareBool(t, t0, Py_EQ) == 1) &&
                (p == p0 || PyObject_RichCompareBool(p, p0, Py_EQ) == 1)) {
                if (PyList_Append(PyDict_GetItem(groups, k0), rec) < 0)
                    goto fail;
                continue;
            }
            if (PyErr_Occurred())
                goto fail;
        }
        {
            /* Records the engine places (-1) and records with an explicit
             * partition may meet on one partition: a new group epoch at
             * each switch between the two keeps their order (groups go out
             * in order of first appearance). */
            long part = PyLong_AsLong(PyTuple_GetItem(rec, 1));
            int is_auto = part == -1;
            if (part == -1 && PyErr_Occurred())
                goto fail;
            if (prev_auto >= 0 && is_auto != prev_auto)
                epoch++;
            prev_auto = is_auto;
        }
        if ((key = Py_BuildValue("(OOn)", PyTuple_GetItem(rec, 0), PyTuple_GetItem(rec, 1), epoch)) == NULL)
            goto fail;
        g = PyDict_GetItemWithError(groups, key);
        if (g == NULL) {
            if (PyErr_Occurred() || (g = PyList_New(0)) == NULL) {
                Py_DECREF(key);
                goto fail;
            }
            rc = PyDict_SetItem(groups, key, g);
            Py_DECREF(g);
            if (rc < 0 || PyList_Append(order, key) < 0) {
                Py_DECREF(key);
                goto fail;
            }
        }
        Py_DECREF(key);
        if (PyList_Append(g, rec) < 0)
            goto fail;
    }
    for (i = 0; i < PyList_Size(order); i++) {
        PyObject *key = PyList_GetItem(order, i), *recs = PyDict_GetItem(groups, key);
        Py_ssize_t m = PyList_Size(recs), j, start = 0;
        long long size = 0;
        for (j = 0; j < m; j++) {
            long long rs = PyLong_AsLongLong(PyTuple_GetItem(PyList_GetItem(recs, j), 6));
            if (rs == -1 && PyErr_Occurred())
                goto fail;
            if (j > start && (size + rs > limit || j - start >= max_records)) {
                if (append_chunk(out, PyTuple_GetItem(key, 0), PyTuple_GetItem(key, 1), recs, start, j) < 0)
                    goto fail;
                start = j;
                size = 0;
            }
            size += rs;
        }
        if (append_chunk(out, PyTuple_GetItem(key, 0), PyTuple_GetItem(key, 1), recs, start, m) < 0)
            goto fail;
    }
    Py_DECREF(groups);
    Py_DECREF(order);
    return out;
fail:
    Py_XDECREF(groups);
    Py_XDECREF(order);
    Py_XDECREF(out);
    return NULL;
}

/* A Message of message_class from already-owned references (stolen,
 * NULL-safe: on failure everything is released). */
static PyObject *new_message(PyObject *topic, PyObject *partition, PyObject *offset, PyObject *value,
                             PyObject *headers, PyObject *timestamp, PyObject *key)
{
    MessageFields *m = NULL;
    if (topic && partition && offset && value && headers && timestamp && key)
        m = (MessageFields *)PyType_GenericAlloc(message_class, 0);
    if (m == NULL) {
        Py_XDECREF(topic);
        Py_XDECREF(partition);
        Py_XDECREF(offset);
        Py_XDECREF(value);
        Py_XDECREF(headers);
        Py_XDECREF(timestamp);
        Py_XDECREF(key);
        return NULL;
    }
    if (message_class_gc)
        PyObject_GC_UnTrack(m);
    m->topic = topic;
    m->partition = partition;
    m->offset = offset;
    m->value = value;
    m->headers = headers == Py_None ? (Py_DECREF(headers), NULL) : headers;
    m->timestamp = timestamp;
    m->key = key;
    if (m->headers != NULL && PyList_Check(m->headers)) {
        /* (str, value) pairs with a repeated key (producer._headers_dict). */
        PyObject *list = m->headers;
        int rc;
        m->headers = NULL;
        rc = set_header_pairs(m, list);
        Py_DECREF(list);
        if (rc < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return (PyObject *)m;
}

static PyObject *new_ref(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}

static PyObject *serve_entry(PyObject *module, PyObject *args)
{
    PyObject *entry, *result_error, *headers_dict, *recs, *results, *exc, *pos;
    double now;
    Py_ssize_t i, n;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!dOO:serve_entry", &PyList_Type, &entry, &now, &result_error, &headers_dict))
        return NULL;
    if (message_class == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gofka._speedups: set_message_class was not called");
        return NULL;
    }
    if (PyList_Size(entry) != 4) {
        PyErr_SetString(PyExc_TypeError, "serve_entry: entry must be [records, results, position, error]");
        return NULL;
    }
    recs = PyList_GetItem(entry, 0);
    results = PyList_GetItem(entry, 1);
    exc = PyList_GetItem(entry, 3);
    i = PyLong_AsSsize_t(PyList_GetItem(entry, 2));
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (!PyList_Check(recs) || (results != Py_None && !PyList_Check(results) && !PyBytes_Check(results))) {
        PyErr_SetString(PyExc_TypeError, "serve_entry: records must be a list, results a list or bytes");
        return NULL;
    }
    if (PyBytes_Check(results) && PyBytes_Size(results) < GOFKA_BATCH_RESULT_SIZE * PyList_Size(recs)) {
        PyErr_SetString(PyExc_ValueError, "serve_entry: fewer results than records");
        return NULL;
    }
    /* The lists are the entry's own: hold them while callbacks run. */
    Py_INCREF(recs);
    Py_INCREF(results);
    Py_INCREF(exc);
    n = PyList_Size(recs);
    while (i < n) {
        PyObject *rec = PyList_GetItem(recs, i), *cb, *msg, *err, *r = NULL, *ret, *headers, *ts_obj, *hv;
        long long ts;
        i++;
        if ((pos = PyLong_FromSsize_t(i)) == NULL || PyList_SetItem(entry, 2, pos) < 0)
            goto fail;
        if (!PyTuple_Check(rec) || PyTuple_Size(rec) < 10) {
            PyErr_SetString(PyExc_TypeError, "serve_entry: records must be produce() record tuples");
            goto fail;
        }
        cb = PyTuple_GetItem(rec, 7);
        if (cb == Py_None)
            continue;
        ts = PyLong_AsLongLong(PyTuple_GetItem(rec, 4));
        if (ts == -1 && PyErr_Occurred())
            goto fail;
        ts_obj = PyFloat_FromDouble(ts >= 0 ? (double)ts / 1000.0 : now);
        hv = PyTuple_GetItem(rec, 9);
        if (results == Py_None) {
            headers = PyObject_CallFunctionObjArgs(headers_dict, hv, NULL);
            msg = new_message(new_ref(PyTuple_GetItem(rec, 8)), new_ref(PyTuple_GetItem(rec, 1)), PyLong_FromLong(-1),
                              new_ref(PyTuple_GetItem(rec, 3)), headers, ts_obj, new_ref(PyTuple_GetItem(rec, 2)));
            err = exc;
            Py_INCREF(err);
        } else {
            PyObject *part_obj, *off_obj;
            int truth;
            if (PyBytes_Check(results)) {
                /* Every record succeeded: one GOFKA_BATCH_RESULT each. */
                const unsigned char *res =
                    (const unsigned char *)PyBytes_AsString(results) + GOFKA_BATCH_RESULT_SIZE * (i - 1);
                part_obj = PyLong_FromLong(rd32(res + GOFKA_BATCH_RESULT_PARTITION_OFFSET));
                off_obj = PyLong_FromLongLong(rd64(res + GOFKA_BATCH_RESULT_OFFSET_OFFSET));
            } else {
                if (i - 1 >= PyList_Size(results)) {
                    Py_XDECREF(ts_obj);
                    PyErr_SetString(PyExc_ValueError, "serve_entry: fewer results than records");
                    goto fail;
                }
                r = PyList_GetItem(results, i - 1);
                if (!PyTuple_Check(r) || PyTuple_Size(r) < 3) {
                    Py_XDECREF(ts_obj);
                    PyErr_SetString(PyExc_TypeError,
                                    "serve_entry: a result must be (code, partition, offset[, payload])");
                    goto fail;
                }
                part_obj = new_ref(PyTuple_GetItem(r, 1));
                off_obj = new_ref(PyTuple_GetItem(r, 2));
            }
            truth = PyObject_IsTrue(hv);
            if (truth < 0) {
                Py_XDECREF(ts_obj);
                Py_XDECREF(part_obj);
                Py_XDECREF(off_obj);
                goto fail;
            }
            headers = truth ? PyObject_CallFunctionObjArgs(headers_dict, hv, NULL) : new_ref(Py_None);
            msg = new_message(new_ref(PyTuple_GetItem(rec, 8)), part_obj, off_obj, new_ref(PyTuple_GetItem(rec, 3)),
                              headers, ts_obj, new_ref(PyTuple_GetItem(rec, 2)));
            truth = r == NULL ? 0 : PyObject_IsTrue(PyTuple_GetItem(r, 0));
            if (truth < 0) {
                Py_XDECREF(msg);
                goto fail;
            }
            err = truth ? PyObject_CallFunctionObjArgs(result_error, r, NULL) : new_ref(Py_None);
        }
        if (msg == NULL || err == NULL) {
            Py_XDECREF(msg);
            Py_XDECREF(err);
            goto fail;
        }
        ret = PyObject_CallFunctionObjArgs(cb, err, msg, NULL);
        Py_DECREF(err);
        Py_DECREF(msg);
        if (ret == NULL)
            goto fail;
        Py_DECREF(ret);
        /* A callback may have closed the producer and cleared the entry. */
        if (PyList_Size(recs) != n)
            n = PyList_Size(recs);
    }
    Py_DECREF(recs);
    Py_DECREF(results);
    Py_DECREF(exc);
    Py_RETURN_NONE;
fail:
    Py_DECREF(recs);
    Py_DECREF(results);
    Py_DECREF(exc);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* send_wait: the sync Producer.send in one call                          */
/* ---------------------------------------------------------------------- */

/*
 * Producer.send with no partitioner callback produces one record on a
 * private event queue and waits for its event. Through ctypes that took
 * three foreign calls (produce, drain, free), ctypes argument conversion
 * for 20 arguments, byref objects and the event's parsing in Python: about
 * 30 us of a ~350 us round trip on a 2-core VM, where confluent-kafka's
 * produce + flush spends a few. send_wait does the same work in C with the
 * GIL released throughout, calling the library's functions through
 * addresses that gofka/_native.py reads from its ctypes handle
 * (bind_library): this module still does not link against libgofka.
 */

typedef int32_t (*produce_fn)(uint64_t producer, uint64_t queue, uint64_t token, const char *topic,
                              int32_t partition, const uint8_t *key, int64_t key_len, const uint8_t *value,
                              int64_t value_len, const uint8_t *headers, size_t headers_len,
                              int64_t timestamp_ms, int32_t max_events, int32_t timeout_ms, uint8_t **buf_out,
                              size_t *len_out, int32_t *count_out, gofka_error_t *err);
typedef int32_t (*drain_fn)(uint64_t queue, int32_t max_events, int32_t timeout_ms, uint8_t **buf_out,
                            size_t *len_out, int32_t *count_out, gofka_error_t *err);
typedef void (*free_fn)(void *p);
typedef int32_t (*poll_fn)(uint64_t consumer, int32_t max_messages, int32_t timeout_ms, uint8_t **buf_out,
                           size_t *len_out, int32_t *count_out, gofka_error_t *err);

static produce_fn lib_produce; /* gofka_producer_produce_wait */
static drain_fn lib_drain;     /* gofka_queue_drain */
static free_fn lib_free;       /* gofka_free */
static poll_fn lib_poll;       /* gofka_consumer_poll */

static PyObject *bind_library(PyObject *module, PyObject *args)
{
    unsigned long long produce, drain, release, poll;
    (void)module;
    if (!PyArg_ParseTuple(args, "KKKK:bind_library", &produce, &drain, &release, &poll))
        return NULL;
    if (!produce || !drain || !release || !poll) {
        PyErr_SetString(PyExc_ValueError, "bind_library: NULL function address");
        return NULL;
    }
    lib_produce = (produce_fn)(uintptr_t)produce;
    lib_drain = (drain_fn)(uintptr_t)drain;
    lib_free = (free_fn)(uintptr_t)release;
    lib_poll = (poll_fn)(uintptr_t)poll;
    Py_RETURN_NONE;
}

/* unbind_library(): in a child forked after the library was loaded (the Go
 * runtime's threads are gone: a call would hang), so that send_wait and
 * consumer_poll fail instead. gofka/_native.py calls it from its
 * os.register_at_fork hook. */
static PyObject *unbind_library(PyObject *module, PyObject *args)
{
    (void)module;
    (void)args;
    lib_produce = NULL;
    lib_drain = NULL;
    lib_free = NULL;
    lib_poll = NULL;
    Py_RETURN_NONE;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The fields of a failed library call: (code, name, message, broker,
 * retriable), which the Python side turns into the exception
 * (HandleOwner._failure_from_fields, _native.error_from_fields). */
static PyObject *error_fields(int32_t code, const gofka_error_t *err)
{
    if (err->code != code)
        return Py_BuildValue("(iyyyi)", (int)code, "", "", "", 0);
    return Py_BuildValue("(iyyyi)", (int)code, err->name, err->message, err->broker, (int)err->retriable);
}

static PyObject *send_wait(PyObject *module, PyObject *args)
{
    unsigned long long producer, queue, token;
    const char *topic, *value, *headers;
    Py_ssize_t topic_len, value_len, headers_len;
    PyObject *key_obj;
    char *key = NULL;
    Py_ssize_t key_len = -1;
    int partition, wait_ms;
    long long ts;
    int32_t rc, ev_code = 0;
    int64_t offset = -1, deadline;
    uint8_t *payload = NULL; /* malloc'd copy of the event's payload */
    uint32_t payload_len = 0;
    int found = 0;
    gofka_error_t err;
    PyObject *out;

    (void)module;
    if (!PyArg_ParseTuple(args, "KKKy#iOy#y#Li:send_wait", &producer, &queue, &token, &topic, &topic_len,
                          &partition, &key_obj, &value, &value_len, &headers, &headers_len, &ts, &wait_ms))
        return NULL;
    if (lib_produce == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "send_wait: libgofka is not bound (not loaded yet, or forked after)");
        return NULL;
    }
    if ((Py_ssize_t)strlen(topic) != topic_len) {
        PyErr_SetString(PyExc_ValueError, "topic must not contain NUL characters");
        return NULL;
    }
    if (key_obj != Py_None && PyBytes_AsStringAndSize(key_obj, &key, &key_len) < 0)
        return NULL;
    memset(&err, 0, sizeof err);
    /* The buffers belong to bytes objects the caller's arguments keep
     * alive; the library copies them before produce returns. */
    Py_BEGIN_ALLOW_THREADS
    deadline = monotonic_ms() + (wait_ms > 0 ? wait_ms : 0);
    rc = 0;
    for (int first = 1; rc == 0 && !found; first = 0) {
        uint8_t *buf = NULL;
        size_t len = 0, pos = 0;
        int32_t count = 0, i;
        int64_t left = deadline - monotonic_ms();
        int32_t slice = left > 0 ? (int32_t)left : 0;
        /* The produce and the first wait in one library call, which claims
         * the connection before the record goes out (gofka.h). A failed
         * produce is reported before the first drain sets anything: then
         * nothing was sent. */
        if (first)
            rc = lib_produce(producer, queue, token, topic, partition, (const uint8_t *)key, key_len,
                             (const uint8_t *)value, value_len, headers_len ? (const uint8_t *)headers : NULL,
                             (size_t)headers_len, ts, 64, slice, &buf, &len, &count, &err);
        else
            rc = lib_drain(queue, 64, slice, &buf, &len, &count, &err);
        /* Events of earlier sends that gave up waiting (another token) are
         * dropped, as the Python path does. */
        for (i = 0; rc == 0 && i < count && pos + GOFKA_EVENT_SIZE <= len; i++) {
            const uint8_t *ev = buf + pos;
            uint32_t n = (uint32_t)rd32(ev + GOFKA_EVENT_PAYLOAD_LEN_OFFSET);
            if (pos + GOFKA_EVENT_SIZE + n > len)
                break;
            if ((uint64_t)rd64(ev + GOFKA_EVENT_TOKEN_OFFSET) == token) {
                found = 1;
                ev_code = rd32(ev + GOFKA_EVENT_CODE_OFFSET);
                offset = rd64(ev + GOFKA_EVENT_OFFSET_OFFSET);
                if (ev_code != 0 && n > 0 && (payload = malloc(n)) != NULL) {
                    memcpy(payload, ev + GOFKA_EVENT_SIZE, n);
                    payload_len = n;
                }
            }
            pos += GOFKA_EVENT_SIZE + n;
        }
        if (buf != NULL)
            lib_free(buf);
        if (count == 0 && left <= 0)
            break; /* still in flight: the caller keeps waiting */
    }
    Py_END_ALLOW_THREADS
    if (rc != 0)
        return Py_BuildValue("(iN)", 0, error_fields(rc, &err));
    if (!found)
        Py_RETURN_NONE;
    if (ev_code == 0)
        return PyLong_FromLongLong(offset);
    out = Py_BuildValue("(iiy#)", 1, (int)ev_code, payload ? (const char *)payload : "", (Py_ssize_t)payload_len);
    free(payload);
    return out;
}

/* ---------------------------------------------------------------------- */
/* consumer_poll: the sync Consumer.poll's library call                   */
/* ---------------------------------------------------------------------- */

/*
 * Consumer.poll through ctypes built four ctypes objects, a 1 KiB error
 * struct and four byref()s per call and made a second foreign call to
 * free the buffer. A consumer following a producer record by record (the
 * latency benchmark) spent 161-172 us of CPU per record that way, against
 * confluent-kafka's 110-125, on the cores the broker and the producer
 * need; in C, with the GIL released while the library waits, 130-138.
 *
 * consumer_poll(consumer, max_messages, wait_ms) -> (messages, events),
 * both possibly empty, or (None, (code, name, message, broker, retriable))
 * when the library call failed.
 */
static PyObject *consumer_poll(PyObject *module, PyObject *args)
{
    unsigned long long consumer;
    int max_messages, wait_ms;
    uint8_t *buf = NULL;
    size_t len = 0;
    int32_t count = 0, rc;
    gofka_error_t err;
    PyObject *out;

    (void)module;
    if (!PyArg_ParseTuple(args, "Kii:consumer_poll", &consumer, &max_messages, &wait_ms))
        return NULL;
    if (lib_poll == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "consumer_poll: libgofka is not bound (not loaded yet, or forked after)");
        return NULL;
    }
    err.code = 0;
    Py_BEGIN_ALLOW_THREADS
    rc = lib_poll(consumer, max_messages, wait_ms, &buf, &len, &count, &err);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        if (buf != NULL)
            lib_free(buf);
        return Py_BuildValue("(ON)", Py_None, error_fields(rc, &err));
    }
    if (buf == NULL)
        return Py_BuildValue("([][])");
    if (len > PY_SSIZE_T_MAX) {
        lib_free(buf);
        return malformed("length");
    }
    out = build_poll(buf, (Py_ssize_t)len);
    lib_free(buf);
    return out;
}

static PyMethodDef module_methods[] = {
    {"set_message_class", set_message_class, METH_O, "Registers gofka.Message (a MessageFields subclass)."},
    {"chunk_records", chunk_records, METH_VARARGS,
     "chunk_records(records, limit, max_records=<no limit>) -> [(topic_b, partition, records, values or None)] "
     "(see producer.py)."},
    {"serve_entry", serve_entry, METH_VARARGS,
     "serve_entry(entry, now, result_error, headers_dict): delivery callbacks of one backlog entry (see producer.py)."},
    {"resolve_sends", resolve_sends, METH_VARARGS,
     "resolve_sends(futures, payload) -> whether the batch event had no failures and every future got its offset."},
    {"parse_poll", parse_poll, METH_O, "parse_poll(buf) -> (messages, events) from a messages buffer (bytes)."},
    {"bind_library", bind_library, METH_VARARGS,
     "bind_library(produce, drain, free, poll): addresses of gofka_producer_produce, gofka_queue_drain, "
     "gofka_free, gofka_consumer_poll."},
    {"unbind_library", unbind_library, METH_NOARGS,
     "unbind_library(): forgets them (a forked child): send_wait and consumer_poll then raise RuntimeError."},
    {"send_wait", send_wait, METH_VARARGS,
     "send_wait(producer, queue, token, topic_b, partition, key, value, headers_b, timestamp_ms, wait_ms) -> "
     "offset, None (no event within wait_ms) or a failure tuple (see producer.py)."},
    {"consumer_poll", consumer_poll, METH_VARARGS,
     "consumer_poll(consumer, max_messages, wait_ms) -> (messages, events) or (None, failure fields)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gofka._speedups", "C speedups of gofka (optional).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    PyObject *pending_type, *sends_type;
    PyObject *m;
    if (intern_names(&produce_spec) < 0 || intern_names(&send_spec) < 0)
        return NULL;
    if (get_running_loop == NULL) {
        PyObject *asyncio = PyImport_ImportModule("asyncio");
        if (asyncio == NULL)
            return NULL;
        get_running_loop = PyObject_GetAttrString(asyncio, "_get_running_loop");
        Py_DECREF(asyncio);
        if (get_running_loop == NULL)
            return NULL;
    }
    if ((empty_bytes == NULL && (empty_bytes = PyBytes_FromStringAndSize(NULL, 0)) == NULL) ||
        (minus_one == NULL && (minus_one = PyLong_FromLong(-1)) == NULL) ||
        (zero == NULL && (zero = PyLong_FromLong(0)) == NULL) ||
        (str_done == NULL && (str_done = PyUnicode_InternFromString("done")) == NULL) ||
        (str_set_result == NULL && (str_set_result = PyUnicode_InternFromString("set_result")) == NULL))
        return NULL;
    m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    fields_type = (PyTypeObject *)PyType_FromSpec(&fields_spec);
    if (fields_type == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(fields_type);
    if (PyModule_AddObject(m, "MessageFields", (PyObject *)fields_type) < 0) {
        Py_DECREF(fields_type);
        Py_DECREF(m);
        return NULL;
    }
    pending_type = PyType_FromSpec(&pending_spec);
    if (pending_type == NULL || PyModule_AddObject(m, "PendingRecords", pending_type) < 0) {
        Py_XDECREF(pending_type);
        Py_DECREF(m);
        return NULL;
    }
    sends_type = PyType_FromSpec(&sends_spec);
    if (sends_type == NULL || PyModule_AddObject(m, "AsyncSends", sends_type) < 0) {
        Py_XDECREF(sends_type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
