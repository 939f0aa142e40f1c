/*
 * gofka._speedups: the optional C half of the Python package.
 *
 * Why it exists: a consumer poll returns thousands of Message objects, and
 * building them in Python bytecode (one struct unpack, three slices, one
 * __init__ call per record) cost about 0.8 us per record, more than the
 * whole Go engine spends fetching and decoding it. This module builds them
 * at C speed from the packed messages buffer (include/gofka.h, "messages
 * format"). It holds no state of its own and never calls into libgofka: the
 * engine stays behind the ctypes boundary.
 *
 * It is optional. gofka/message.py and gofka/consumer.py fall back to pure
 * Python (identical behaviour, tested both ways) when it is missing or when
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
 *   parse_poll(buf) / parse_poll(address, length) -> (messages, events)
 *                   decodes a messages buffer, given as bytes or as the
 *                   address of the library's buffer (no copy; the caller
 *                   frees it after). events: [(kind, [(topic, partition)])].
 *                   Every count and offset is bounds-checked; a malformed
 *                   buffer raises ValueError.
 *
 * Thread-safety: every function runs with the GIL held and touches only
 * its arguments and the registered class.
 */
#define Py_LIMITED_API 0x03080000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    PyObject_HEAD
    PyObject *topic;
    PyObject *partition;
    PyObject *offset;
    PyObject *value;
    PyObject *headers; /* NULL until first read or set: see headers_get */
    PyObject *timestamp;
    PyObject *key;
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
    return 0;
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
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot fields_slots[] = {
    {Py_tp_dealloc, (void *)fields_dealloc},
    {Py_tp_members, fields_members},
    {Py_tp_getset, fields_getset},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_doc, (void *)"Storage of gofka.Message (see gofka/message.py)."},
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

/* Little-endian reads; the format is little-endian on every host. */
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
 * key (UTF-8), i32 value length (-1: null), value. */
static PyObject *parse_headers(const unsigned char *base, Py_ssize_t pos, Py_ssize_t end)
{
    PyObject *headers;
    int32_t n, i;
    if (pos < 0 || end < pos || end - pos < 4)
        return malformed("headers range");
    n = rd32(base + pos);
    pos += 4;
    if (n < 0 || n > (end - pos) / 8)
        return malformed("header count");
    headers = PyDict_New();
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

#define HEAD_SIZE 48 /* <iiqqiiiiii: topic index, partition, offset, ts, key/value/headers ranges */

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
        int32_t ti = rd32(h), hs = rd32(h + 40), he = rd32(h + 44);
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
        if ((m->partition = PyLong_FromLong(rd32(h + 4))) == NULL)
            goto fail;
        if ((m->offset = PyLong_FromLongLong(rd64(h + 8))) == NULL)
            goto fail;
        if ((m->timestamp = PyFloat_FromDouble((double)rd64(h + 16) / 1000.0)) == NULL)
            goto fail;
        if ((m->key = range_bytes(base, len, rd32(h + 24), rd32(h + 28))) == NULL)
            goto fail;
        if ((m->value = range_bytes(base, len, rd32(h + 32), rd32(h + 36))) == NULL)
            goto fail;
        if (hs >= 0) {
            if (he < hs || (Py_ssize_t)he > len) {
                Py_DECREF(out);
                return malformed("headers range");
            }
            if ((m->headers = parse_headers(base, hs, he)) == NULL)
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
    Py_ssize_t pos = 12;
    if (len < 12)
        return malformed("header");
    nmsgs = rd32(base);
    nevents = rd32(base + 4);
    ntopics = rd32(base + 8);
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

/* parse_poll(buf) with buf bytes, or parse_poll(address, length) with a
 * library-allocated buffer the caller keeps alive during the call. */
static PyObject *parse_poll(PyObject *module, PyObject *args)
{
    PyObject *src;
    Py_ssize_t length = -1;
    char *data;
    (void)module;
    if (!PyArg_ParseTuple(args, "O|n:parse_poll", &src, &length))
        return NULL;
    if (PyBytes_Check(src)) {
        if (PyBytes_AsStringAndSize(src, &data, &length) < 0)
            return NULL;
        return build_poll((const unsigned char *)data, length);
    }
    if (PyLong_Check(src)) {
        void *address = PyLong_AsVoidPtr(src);
        if (address == NULL && PyErr_Occurred())
            return NULL;
        if (address == NULL || length < 0) {
            PyErr_SetString(PyExc_ValueError, "parse_poll: a non-NULL address needs a length");
            return NULL;
        }
        return build_poll((const unsigned char *)address, length);
    }
    PyErr_SetString(PyExc_TypeError, "parse_poll: bytes or an address");
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"set_message_class", set_message_class, METH_O, "Registers gofka.Message (a MessageFields subclass)."},
    {"parse_poll", parse_poll, METH_VARARGS,
     "parse_poll(buf) or parse_poll(address, length) -> (messages, events) from a messages buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gofka._speedups", "C speedups of gofka (optional).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    PyObject *m = PyModule_Create(&module_def);
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
    return m;
}
