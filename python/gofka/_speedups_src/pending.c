#include "speedups.h"

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

/* produce()'s parameters; the last is keyword-only. */
#define PRODUCE_NARGS 8
static const char *const produce_names[PRODUCE_NARGS] = {"topic", "value", "key", "partition",
                                                         "headers", "timestamp", "on_delivery", "callback"};
static PyObject *produce_kwnames[PRODUCE_NARGS];
const ArgSpec produce_spec = {"produce", PRODUCE_NARGS, 7, 1, produce_names, produce_kwnames};

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

PyType_Spec pending_spec = {
    "gofka._speedups.PendingRecords",
    sizeof(PendingRecords),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    pending_slots,
};

