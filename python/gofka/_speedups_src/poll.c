/* Decoding of the packed messages buffer (include/gofka.h, "messages
 * format") into gofka.Message objects: parse_poll for a buffer Python
 * holds, build_poll for consumer_poll (library.c), which decodes the
 * library's buffer in place. */
#include "speedups.h"

PyObject *malformed(const char *what)
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
PyObject *build_poll(const unsigned char *base, Py_ssize_t len)
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
PyObject *parse_poll(PyObject *module, PyObject *buf)
{
    char *data;
    Py_ssize_t length;
    (void)module;
    if (PyBytes_AsStringAndSize(buf, &data, &length) < 0)
        return NULL;
    return build_poll((const unsigned char *)data, length);
}

