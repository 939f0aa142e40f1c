#include "speedups.h"

/* chunk_records(records, limit) and serve_entry(entry, now, result_error,
 * headers_dict): the per-record loops of Producer._push and
 * Producer._serve (their pure-Python twins, _producer_base.chunk_records_py
 * and producer._serve_entry_py, have the docstrings that define them). */

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

PyObject *chunk_records(PyObject *module, PyObject *args)
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

/* ChunkRecords(topic_b, partition, records): the records of one chunk the
 * library took, kept until their results are served in fewer bytes than
 * their record tuples (producer.py: _PyChunkRecords, the pure-Python twin,
 * has the docstring that defines it). A column per field the callbacks
 * need (topic, key, value, ts_ms, headers, callback slot: the tuple items
 * of chunk_items), each the chunk's one object when every record has the
 * same there (identity; for the ints ts_ms and slot, equality), else a
 * list of n; nothing but the count when no record has a callback. The
 * usual chunk (one topic and callback, values only) keeps 8 bytes per
 * record, its values list, where the tuples and their lists held ~117.
 * Immutable once built: readable from any thread under the GIL. */
#define CHUNK_COLS 6
enum { COL_TOPIC, COL_KEY, COL_VALUE, COL_TS, COL_HEADERS, COL_SLOT };
static const int chunk_items[CHUNK_COLS] = {8, 2, 3, 4, 9, 7};

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    PyObject *topic_b;          /* the chunk's encoded topic */
    PyObject *part;             /* the chunk's partition as produce() asked (-1: the engine's choice) */
    PyObject *col[CHUNK_COLS];  /* the chunk's object, or (per[c]) a list of n */
    char per[CHUNK_COLS];
} ChunkRecords;

PyTypeObject *chunk_type_obj; /* set by PyInit__speedups */

static int chunk_traverse(PyObject *self, visitproc visit, void *arg)
{
    ChunkRecords *c = (ChunkRecords *)self;
    int k;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(c->topic_b);
    Py_VISIT(c->part);
    for (k = 0; k < CHUNK_COLS; k++)
        Py_VISIT(c->col[k]);
    return 0;
}

static int chunk_clear(PyObject *self)
{
    ChunkRecords *c = (ChunkRecords *)self;
    int k;
    Py_CLEAR(c->topic_b);
    Py_CLEAR(c->part);
    for (k = 0; k < CHUNK_COLS; k++) {
        Py_CLEAR(c->col[k]);
        c->per[k] = 0;
    }
    c->n = 0;
    return 0;
}

/* Whether o can be part of no reference cycle (what a record tuple holds
 * in the common case). */
static int is_atomic(PyObject *o)
{
    return o == Py_None || PyBytes_CheckExact(o) || PyUnicode_CheckExact(o) || PyLong_CheckExact(o);
}

/* Whether a and b may share one column entry (see ChunkRecords); -1 on error. */
static int same_field(PyObject *a, PyObject *b, int col)
{
    if (a == b)
        return 1;
    if ((col == COL_TS || col == COL_SLOT) && PyLong_CheckExact(a) && PyLong_CheckExact(b))
        return PyObject_RichCompareBool(a, b, Py_EQ);
    return 0;
}

static int chunk_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"topic_b", "partition", "records", NULL};
    ChunkRecords *c = (ChunkRecords *)self;
    PyObject *topic_b, *part, *recs, *first[CHUNK_COLS] = {NULL};
    Py_ssize_t n, i;
    int k, any_cb = 0, atomic, uniform[CHUNK_COLS], nuniform = CHUNK_COLS;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!:ChunkRecords", kwlist, &topic_b, &part, &PyList_Type, &recs))
        return -1;
    n = PyList_Size(recs);
    /* One pass: checks the tuples, finds a callback, and which columns
     * hold the same object in every record (first[k] then). */
    for (i = 0; i < n; i++) {
        PyObject *rec = PyList_GetItem(recs, i);
        if (!PyTuple_Check(rec) || PyTuple_Size(rec) < 10) {
            PyErr_SetString(PyExc_TypeError, "ChunkRecords: records must be produce() record tuples");
            return -1;
        }
        if (!any_cb && PyTuple_GetItem(rec, 7) != Py_None)
            any_cb = 1;
        for (k = 0; k < CHUNK_COLS && nuniform > 0; k++) {
            PyObject *v = PyTuple_GetItem(rec, chunk_items[k]);
            int same;
            if (i == 0) {
                first[k] = v;
                uniform[k] = 1;
                continue;
            }
            if (!uniform[k])
                continue;
            if ((same = same_field(first[k], v, k)) < 0)
                return -1;
            if (!same) {
                uniform[k] = 0;
                nuniform--;
            }
        }
    }
    chunk_clear(self);
    Py_INCREF(topic_b);
    c->topic_b = topic_b;
    Py_INCREF(part);
    c->part = part;
    c->n = n;
    atomic = is_atomic(topic_b) && is_atomic(part);
    for (k = 0; k < CHUNK_COLS; k++) {
        PyObject *list;
        int list_atomic = 1;
        if (!any_cb) {
            Py_INCREF(Py_None);
            c->col[k] = Py_None; /* nothing kept: no callback will read it */
            continue;
        }
        if (uniform[k]) {
            Py_INCREF(first[k]);
            c->col[k] = first[k];
            atomic = atomic && is_atomic(first[k]);
            continue;
        }
        if ((list = PyList_New(n)) == NULL)
            return -1;
        for (i = 0; i < n; i++) {
            PyObject *v = PyTuple_GetItem(PyList_GetItem(recs, i), chunk_items[k]);
            list_atomic = list_atomic && is_atomic(v);
            Py_INCREF(v);
            PyList_SetItem(list, i, v);
        }
        /* A list of bytes, str, int and None can be in no cycle: the
         * cyclic GC need not traverse its n items at every collection. */
        if (list_atomic)
            PyObject_GC_UnTrack(list);
        atomic = atomic && list_atomic;
        c->col[k] = list;
        c->per[k] = 1;
    }
    if (atomic)
        PyObject_GC_UnTrack(self);
    return 0;
}

/* Field col of record i, borrowed (i in range). */
static PyObject *chunk_field(ChunkRecords *c, int col, Py_ssize_t i)
{
    return c->per[col] ? PyList_GetItem(c->col[col], i) : c->col[col];
}

static Py_ssize_t chunk_len(PyObject *self)
{
    return ((ChunkRecords *)self)->n;
}

/* chunk[i]: record i's tuple rebuilt, items 5 and 6 (headers_b, size) None. */
static PyObject *chunk_item(PyObject *self, Py_ssize_t i)
{
    ChunkRecords *c = (ChunkRecords *)self;
    PyObject *items[10], *rec;
    int k;
    if (i < 0 || i >= c->n || c->topic_b == NULL) {
        PyErr_SetString(PyExc_IndexError, "ChunkRecords index out of range");
        return NULL;
    }
    items[0] = c->topic_b;
    items[1] = c->part;
    items[5] = items[6] = Py_None;
    for (k = 0; k < CHUNK_COLS; k++)
        items[chunk_items[k]] = chunk_field(c, k, i);
    if ((rec = PyTuple_New(10)) == NULL)
        return NULL;
    for (k = 0; k < 10; k++) {
        Py_INCREF(items[k]);
        PyTuple_SetItem(rec, k, items[k]);
    }
    return rec;
}

static PyType_Slot chunk_slots[] = {
    {Py_tp_dealloc, (void *)gc_dealloc},
    {Py_tp_traverse, (void *)chunk_traverse},
    {Py_tp_clear, (void *)chunk_clear},
    {Py_tp_init, (void *)chunk_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_sq_length, (void *)chunk_len},
    {Py_sq_item, (void *)chunk_item},
    {Py_tp_doc, (void *)"ChunkRecords(topic_b, partition, records): a handed-over chunk's records as their "
                        "callbacks need them (see producer.py: _PyChunkRecords)."},
    {0, NULL},
};

PyType_Spec chunk_spec = {
    "gofka._speedups.ChunkRecords",
    sizeof(ChunkRecords),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    chunk_slots,
};

static PyObject *new_ref(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}

/* The callback of a record from item 7 of its tuple (new reference), or
 * None for none: a callable itself, or an int slot of the callbacks table
 * (a PendingRecords: pending.c), taken from it once. */
static PyObject *record_callback(PyObject *item, PyObject *callbacks)
{
    if (item == Py_None || !PyLong_Check(item)) {
        Py_INCREF(item);
        return item;
    }
    if (callbacks == Py_None) {
        PyErr_SetString(PyExc_TypeError, "serve_entry: a record holds a callback slot and no callbacks table was given");
        return NULL;
    }
    if (Py_TYPE(callbacks) == pending_type_obj) {
        Py_ssize_t slot = PyLong_AsSsize_t(item);
        if (slot == -1 && PyErr_Occurred())
            return NULL;
        return pending_take_callback(callbacks, slot);
    }
    return PyObject_CallMethod(callbacks, "take_callback", "O", item);
}

PyObject *serve_entry(PyObject *module, PyObject *args)
{
    PyObject *entry, *result_error, *headers_dict, *recs, *results, *exc, *pos, *callbacks = Py_None, *cb = NULL;
    PyObject *rec = NULL; /* the record tuple of a generic sequence (owned) */
    ChunkRecords *chunk;
    double now;
    Py_ssize_t i, n;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!dOO|O:serve_entry", &PyList_Type, &entry, &now, &result_error, &headers_dict,
                          &callbacks))
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
    /* records: a list of record tuples, a ChunkRecords (read by column),
     * or another sequence of record tuples (the pure-Python ChunkRecords). */
    chunk = Py_TYPE(recs) == chunk_type_obj ? (ChunkRecords *)recs : NULL;
    if (results != Py_None && !PyList_Check(results) && !PyBytes_Check(results)) {
        PyErr_SetString(PyExc_TypeError, "serve_entry: records must be a sequence, results a list or bytes");
        return NULL;
    }
    n = chunk != NULL ? chunk->n : PyList_Check(recs) ? PyList_Size(recs) : PySequence_Size(recs);
    if (n < 0)
        return NULL;
    if (chunk != NULL && chunk->topic_b == NULL) {
        PyErr_SetString(PyExc_ValueError, "serve_entry: ChunkRecords not initialized");
        return NULL;
    }
    if (PyBytes_Check(results) && PyBytes_Size(results) < GOFKA_BATCH_RESULT_SIZE * n) {
        PyErr_SetString(PyExc_ValueError, "serve_entry: fewer results than records");
        return NULL;
    }
    /* The lists are the entry's own: hold them while callbacks run. */
    Py_INCREF(recs);
    Py_INCREF(results);
    Py_INCREF(exc);
    while (i < n) {
        PyObject *msg, *err, *r = NULL, *ret, *headers, *ts_obj, *hv;
        PyObject *slot_o, *ts_o, *topic_o, *part_o, *value_o, *key_o; /* borrowed */
        long long ts;
        if (chunk != NULL) {
            slot_o = chunk_field(chunk, COL_SLOT, i);
            ts_o = chunk_field(chunk, COL_TS, i);
            hv = chunk_field(chunk, COL_HEADERS, i);
            topic_o = chunk_field(chunk, COL_TOPIC, i);
            value_o = chunk_field(chunk, COL_VALUE, i);
            key_o = chunk_field(chunk, COL_KEY, i);
            part_o = chunk->part;
        } else {
            PyObject *t;
            if (PyList_Check(recs)) {
                t = PyList_GetItem(recs, i);
            } else if ((t = rec = PySequence_GetItem(recs, i)) == NULL) {
                goto fail;
            }
            if (!PyTuple_Check(t) || PyTuple_Size(t) < 10) {
                PyErr_SetString(PyExc_TypeError, "serve_entry: records must be produce() record tuples");
                goto fail;
            }
            slot_o = PyTuple_GetItem(t, 7);
            ts_o = PyTuple_GetItem(t, 4);
            hv = PyTuple_GetItem(t, 9);
            topic_o = PyTuple_GetItem(t, 8);
            value_o = PyTuple_GetItem(t, 3);
            key_o = PyTuple_GetItem(t, 2);
            part_o = PyTuple_GetItem(t, 1);
        }
        i++;
        if ((pos = PyLong_FromSsize_t(i)) == NULL || PyList_SetItem(entry, 2, pos) < 0)
            goto fail;
        if (slot_o == Py_None) {
            Py_CLEAR(rec);
            continue;
        }
        ts = PyLong_AsLongLong(ts_o);
        if (ts == -1 && PyErr_Occurred())
            goto fail;
        /* Taken now, once: the position already moved past this record. */
        if ((cb = record_callback(slot_o, callbacks)) == NULL)
            goto fail;
        ts_obj = PyFloat_FromDouble(ts >= 0 ? (double)ts / 1000.0 : now);
        if (results == Py_None) {
            headers = PyObject_CallFunctionObjArgs(headers_dict, hv, NULL);
            msg = new_message(new_ref(topic_o), new_ref(part_o), PyLong_FromLong(-1), new_ref(value_o), headers, ts_obj,
                              new_ref(key_o));
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
            msg = new_message(new_ref(topic_o), part_obj, off_obj, new_ref(value_o), headers, ts_obj, new_ref(key_o));
            truth = r == NULL ? 0 : PyObject_IsTrue(PyTuple_GetItem(r, 0));
            if (truth < 0) {
                Py_XDECREF(msg);
                goto fail;
            }
            err = truth ? PyObject_CallFunctionObjArgs(result_error, r, NULL) : new_ref(Py_None);
        }
        /* The record's fields are in the message now (or failed to be). */
        Py_CLEAR(rec);
        if (msg == NULL || err == NULL) {
            Py_XDECREF(msg);
            Py_XDECREF(err);
            goto fail;
        }
        ret = PyObject_CallFunctionObjArgs(cb, err, msg, NULL);
        Py_CLEAR(cb);
        Py_DECREF(err);
        Py_DECREF(msg);
        if (ret == NULL)
            goto fail;
        Py_DECREF(ret);
        /* A callback may have closed the producer and cleared the entry. */
        if (chunk == NULL && PyList_Check(recs) && PyList_Size(recs) != n)
            n = PyList_Size(recs);
    }
    Py_DECREF(recs);
    Py_DECREF(results);
    Py_DECREF(exc);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(rec);
    Py_XDECREF(cb); /* taken: its record is served (failed) */
    Py_DECREF(recs);
    Py_DECREF(results);
    Py_DECREF(exc);
    return NULL;
}
