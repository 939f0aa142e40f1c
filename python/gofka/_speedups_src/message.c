/* MessageFields, the storage base class of gofka.Message, its registered
 * subclass (set_message_class) and new_message, which builds one from
 * owned references (used by serve_entry, batch.c). See module.c for the
 * module as a whole and speedups.h for what the files share. */
#include "speedups.h"

PyTypeObject *fields_type;   /* MessageFields (owned by the module) */
PyTypeObject *message_class; /* gofka.Message, set by set_message_class */
int message_class_gc;        /* whether message_class is GC-tracked */

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
    Py_CLEAR(m->delivery_count);
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
    /* T_OBJECT: unset reads as None (records of a classic consumer). */
    {"delivery_count", T_OBJECT, offsetof(MessageFields, delivery_count), 0,
     "times a share consumer's record was delivered (1 the first time), else None"},
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

PyType_Spec fields_spec = {
    "gofka._speedups.MessageFields",
    sizeof(MessageFields),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    fields_slots,
};

PyObject *set_message_class(PyObject *module, PyObject *cls)
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


/* A Message of message_class from already-owned references (stolen,
 * NULL-safe: on failure everything is released). */
PyObject *new_message(PyObject *topic, PyObject *partition, PyObject *offset, PyObject *value,
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
