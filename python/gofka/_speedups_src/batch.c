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
        PyObject *rec = PyList_GetItem(recs, i), *msg, *err, *r = NULL, *ret, *headers, *ts_obj, *hv;
        long long ts;
        i++;
        if ((pos = PyLong_FromSsize_t(i)) == NULL || PyList_SetItem(entry, 2, pos) < 0)
            goto fail;
        if (!PyTuple_Check(rec) || PyTuple_Size(rec) < 10) {
            PyErr_SetString(PyExc_TypeError, "serve_entry: records must be produce() record tuples");
            goto fail;
        }
        if (PyTuple_GetItem(rec, 7) == Py_None)
            continue;
        ts = PyLong_AsLongLong(PyTuple_GetItem(rec, 4));
        if (ts == -1 && PyErr_Occurred())
            goto fail;
        /* Taken now, once: the position already moved past this record. */
        if ((cb = record_callback(PyTuple_GetItem(rec, 7), callbacks)) == NULL)
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
        Py_CLEAR(cb);
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
    Py_XDECREF(cb); /* taken: its record is served (failed) */
    Py_DECREF(recs);
    Py_DECREF(results);
    Py_DECREF(exc);
    return NULL;
}
