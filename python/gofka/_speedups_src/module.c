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
 *
 * The source is one file per Python type or group of functions (the list
 * is in speedups.h), compiled together into the one extension module; this
 * file holds the module's function table and PyInit__speedups.
 */
#include "speedups.h"

/* tp_dealloc of the module's GC-tracked types: untrack, clear (the
 * type's own tp_clear), free, and drop the heap type's reference. */
void gc_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    inquiry tp_clear = (inquiry)PyType_GetSlot(tp, Py_tp_clear);
    PyObject_GC_UnTrack(self);
    tp_clear(self);
    tp_free(self);
    Py_DECREF(tp);
}

/* ArgSpec binding (speedups.h): the names are interned once, at import. */
int intern_names(const ArgSpec *spec)
{
    int i;
    for (i = 0; i < spec->nargs; i++)
        if (spec->kwnames[i] == NULL && (spec->kwnames[i] = PyUnicode_InternFromString(spec->names[i])) == NULL)
            return -1;
    return 0;
}

/* Binds args/kwds to argv (borrowed references; NULL = not passed). */
int bind_args(const ArgSpec *spec, PyObject *args, PyObject *kwds, PyObject **argv)
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


PyObject *call_with_owner(PyObject *owner_ref, PyObject *fn, PyObject *args, PyObject *kwds)
{
    PyObject *owner = PyWeakref_GetObject(owner_ref), *full, *res;
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
    res = PyObject_Call(fn, full, kwds);
    Py_DECREF(full);
    return res;
}

static PyMethodDef module_methods[] = {
    {"set_message_class", set_message_class, METH_O, "Registers gofka.Message (a MessageFields subclass)."},
    {"chunk_records", chunk_records, METH_VARARGS,
     "chunk_records(records, limit, max_records=<no limit>) -> [(topic_b, partition, records, values or None)] "
     "(see producer.py)."},
    {"serve_entry", serve_entry, METH_VARARGS,
     "serve_entry(entry, now, result_error, headers_dict, callbacks=None): delivery callbacks of one backlog entry "
     "(see producer.py)."},
    {"track_futures", track_futures, METH_O,
     "track_futures(futures): puts the futures of the list the cyclic GC does not track back under its watch."},
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

/* Makes the type of spec and adds it to m as name; returns it (a borrowed
 * reference: the module holds it, and a module is never unloaded), or NULL
 * with an exception set. */
static PyTypeObject *add_type(PyObject *m, PyType_Spec *spec, const char *name)
{
    PyObject *t = PyType_FromSpec(spec);
    if (t == NULL || PyModule_AddObject(m, name, t) < 0) {
        Py_XDECREF(t);
        return NULL;
    }
    return (PyTypeObject *)t;
}

PyMODINIT_FUNC PyInit__speedups(void)
{
    PyObject *m;
    if (intern_names(&produce_spec) < 0 || intern_names(&send_spec) < 0)
        return NULL;
    if (sends_init_module() < 0)
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
    if ((pending_type_obj = add_type(m, &pending_spec, "PendingRecords")) == NULL
        || (chunk_type_obj = add_type(m, &chunk_spec, "ChunkRecords")) == NULL
        || add_type(m, &idle_poll_spec, "IdlePoll") == NULL
        || add_type(m, &sends_spec, "AsyncSends") == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
