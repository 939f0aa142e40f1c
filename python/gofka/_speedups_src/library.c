/* The calls into libgofka: bind_library / unbind_library, send_wait and
 * consumer_poll. */
#include "speedups.h"

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

/* The library functions' pointer types, taken from their declarations in
 * gofka.h (the one statement of their signatures; __typeof__, which GCC
 * and Clang have, refers to no symbol: nothing is linked). */
typedef __typeof__(gofka_producer_produce_wait) *produce_fn;
typedef __typeof__(gofka_queue_drain) *drain_fn;
typedef __typeof__(gofka_free) *free_fn;
typedef __typeof__(gofka_consumer_poll) *poll_fn;

static produce_fn lib_produce; /* gofka_producer_produce_wait */
static drain_fn lib_drain;     /* gofka_queue_drain */
static free_fn lib_free;       /* gofka_free */
static poll_fn lib_poll;       /* gofka_consumer_poll */

PyObject *bind_library(PyObject *module, PyObject *args)
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
PyObject *unbind_library(PyObject *module, PyObject *args)
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

PyObject *send_wait(PyObject *module, PyObject *args)
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
PyObject *consumer_poll(PyObject *module, PyObject *args)
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
