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
 * callback slot, topic, headers).
 *
 * The callbacks are not in the record tuples: a tuple holds the int slot of
 * its callback in this object's callback table (None: no callback), so that
 * the tuple of the common record (bytes, ints, None, a str topic) holds no
 * container and is created untracked by the cyclic GC: a million pending
 * records then cost a collection nothing, where tracked tuples were
 * traversed at every collection (issue 22). The table is traversed, so a
 * reference cycle through a callback (an object that owns the producer and
 * passes its bound method) stays visible to the GC. A slot counts the
 * pending records that use it; take_callback(slot), called once per record
 * when its result is served (serve_entry), returns the callback and frees
 * the slot at zero. Consecutive records with the same callback (the same
 * object, or bound methods of the same function and instance) share one
 * slot, so the usual loop uses one slot whatever the number of records.
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
    PyObject *cbs;        /* list: slot -> callback, None when the slot is free */
    Py_ssize_t *counts;   /* per slot: records pending with it (0 = free); PyMem */
    Py_ssize_t *free_slots; /* stack of free slots; PyMem, as big as counts */
    Py_ssize_t nfree;
    Py_ssize_t cap;       /* slots allocated in counts and free_slots */
    Py_ssize_t last;      /* slot given to the last record with a callback, -1 none */
} PendingRecords;

PyTypeObject *pending_type_obj; /* set by PyInit__speedups */

static int pending_traverse(PyObject *self, visitproc visit, void *arg)
{
    PendingRecords *p = (PendingRecords *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(p->pending);
    Py_VISIT(p->topics);
    Py_VISIT(p->normalize);
    Py_VISIT(p->default_partition);
    Py_VISIT(p->owner);
    Py_VISIT(p->cbs);
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
    Py_CLEAR(p->cbs);
    PyMem_Free(p->counts);
    PyMem_Free(p->free_slots);
    p->counts = p->free_slots = NULL;
    p->nfree = p->cap = 0;
    p->last = -1;
    return 0;
}

/* Whether a and b are the same callback: the same object, or bound methods
 * of one function on one instance (obj.method makes a new object at every
 * access). */
static PyTypeObject *method_type; /* types.MethodType, looked up once */
static PyObject *method_self, *method_func; /* interned "__self__", "__func__", made with method_type */

/* 1 when a.name and b.name are the same object (0 also when either
 * lookup fails: then the callbacks get slots of their own). name is an
 * interned str (method_self / method_func): this runs per record that
 * passes a bound method, so no str is made per call. */
static int same_attr(PyObject *a, PyObject *b, PyObject *name)
{
    PyObject *x = PyObject_GetAttr(a, name);
    PyObject *y = x == NULL ? NULL : PyObject_GetAttr(b, name);
    int same = x != NULL && x == y;
    Py_XDECREF(x);
    Py_XDECREF(y);
    if (!same)
        PyErr_Clear();
    return same;
}

static int same_callback(PyObject *a, PyObject *b)
{
    if (a == b)
        return 1;
    if (method_type == NULL) {
        PyObject *types = PyImport_ImportModule("types");
        PyObject *t = types == NULL ? NULL : PyObject_GetAttrString(types, "MethodType");
        Py_XDECREF(types);
        if (t == NULL || !PyType_Check(t)) {
            Py_XDECREF(t);
            PyErr_Clear();
            return 0; /* (cannot happen) then only identity shares a slot */
        }
        if ((method_self = PyUnicode_InternFromString("__self__")) == NULL ||
            (method_func = PyUnicode_InternFromString("__func__")) == NULL) {
            Py_CLEAR(method_self);
            Py_DECREF(t);
            PyErr_Clear();
            return 0;
        }
        method_type = (PyTypeObject *)t; /* kept for the process, as the two names */
    }
    /* Bound methods share a slot when their instance and their function
     * are the same objects (obj.method makes a new method object at every
     * access). Identity, not ==: a function object's __eq__ may be Python
     * code, which must not run (it could produce) while the table is being
     * updated. __self__ and __func__ are members of the method type, read
     * without calling into the function. */
    if (Py_TYPE(a) != method_type || Py_TYPE(b) != method_type)
        return 0;
    return same_attr(a, b, method_self) && same_attr(a, b, method_func);
}

/* The slot for one more record with callback cb, or -1 with an exception. */
static Py_ssize_t acquire_slot(PendingRecords *p, PyObject *cb)
{
    Py_ssize_t slot;
    if (p->last >= 0 && p->counts[p->last] > 0 && same_callback(PyList_GetItem(p->cbs, p->last), cb)) {
        p->counts[p->last]++;
        return p->last;
    }
    if (p->nfree > 0) {
        slot = p->free_slots[--p->nfree];
    } else {
        slot = PyList_Size(p->cbs);
        if (slot >= p->cap) {
            Py_ssize_t cap = p->cap ? p->cap * 2 : 16;
            Py_ssize_t *counts = PyMem_Realloc(p->counts, cap * sizeof(Py_ssize_t));
            Py_ssize_t *fs;
            if (counts == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            p->counts = counts;
            if ((fs = PyMem_Realloc(p->free_slots, cap * sizeof(Py_ssize_t))) == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            p->free_slots = fs;
            p->cap = cap;
        }
        if (PyList_Append(p->cbs, Py_None) < 0)
            return -1;
    }
    Py_INCREF(cb);
    if (PyList_SetItem(p->cbs, slot, cb) < 0)
        return -1;
    p->counts[slot] = 1;
    p->last = slot;
    return slot;
}

/* The callback of slot for one record (new reference), freeing the slot
 * when it was the last record using it; NULL with ValueError for a slot
 * that no pending record holds. */
PyObject *pending_take_callback(PyObject *self, Py_ssize_t slot)
{
    PendingRecords *p = (PendingRecords *)self;
    PyObject *cb;
    if (p->cbs == NULL || slot < 0 || slot >= PyList_Size(p->cbs) || p->counts[slot] <= 0) {
        PyErr_Format(PyExc_ValueError, "take_callback: no pending record holds callback slot %zd", slot);
        return NULL;
    }
    cb = PyList_GetItem(p->cbs, slot);
    Py_INCREF(cb);
    if (--p->counts[slot] == 0) {
        Py_INCREF(Py_None);
        PyList_SetItem(p->cbs, slot, Py_None); /* drops the table's reference */
        p->free_slots[p->nfree++] = slot;
        if (p->last == slot)
            p->last = -1;
    }
    return cb;
}

static PyObject *pending_take_callback_py(PyObject *self, PyObject *arg)
{
    Py_ssize_t slot = PyLong_AsSsize_t(arg);
    if (slot == -1 && PyErr_Occurred())
        return NULL;
    return pending_take_callback(self, slot);
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
    p->cbs = PyList_New(0);
    if (p->pending == NULL || p->topics == NULL || p->cbs == NULL)
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
        PyObject *items[10], *slot_obj = Py_None;
        int k;
        if (cb != Py_None) {
            Py_ssize_t slot = acquire_slot(p, cb);
            if (slot < 0 || (slot_obj = PyLong_FromSsize_t(slot)) == NULL)
                goto done;
        }
        items[0] = topic_b;
        items[1] = part;
        items[2] = kb;
        items[3] = vb;
        items[4] = ts;
        items[5] = hb;
        items[6] = NULL; /* size */
        items[7] = slot_obj;
        items[8] = topic;
        items[9] = headers;
        if ((rec = PyTuple_New(10)) == NULL) {
            if (slot_obj != Py_None)
                Py_XDECREF(pending_take_callback(self, PyLong_AsSsize_t(slot_obj)));
            Py_XDECREF(slot_obj == Py_None ? NULL : slot_obj);
            goto done;
        }
        for (k = 0; k < 10; k++) {
            PyObject *item = k == 6 ? PyLong_FromLongLong(size) : items[k];
            if (item == NULL)
                break;
            if (k != 6 && !(k == 7 && item != Py_None))
                Py_INCREF(item); /* (the slot int is new: the tuple takes it) */
            PyTuple_SetItem(rec, k, item);
        }
        if (k < 10 || PyList_Append(p->pending, rec) < 0) {
            /* Not pending after all: give the slot back. */
            if (slot_obj != Py_None)
                Py_XDECREF(pending_take_callback(self, PyLong_AsSsize_t(slot_obj)));
            if (k < 10 && k <= 7 && slot_obj != Py_None)
                Py_DECREF(slot_obj); /* not stored in the tuple */
            goto done;
        }
        /* Every item is atomic (bytes, int, None) but the topic and the
         * headers as the caller passed them: with a str or bytes topic and
         * no headers the tuple can never be part of a cycle, so the cyclic
         * GC need not track it (CPython would untrack it only at the first
         * collection that examines it). */
        if ((PyUnicode_CheckExact(topic) || PyBytes_CheckExact(topic)) && headers == Py_None)
            PyObject_GC_UnTrack(rec);
    }
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
    {"take_callback", pending_take_callback_py, METH_O,
     "take_callback(slot) -> the callback of a record's slot (item 7 of its tuple), once per record."},
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

