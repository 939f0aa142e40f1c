/*
 * What the C files of gofka._speedups share (module.c describes the
 * module). They are compiled together into ONE extension module,
 * _speedups.abi3.so (Makefile: $(SPEEDUPS); setup.py: SPEEDUPS_EXTENSION,
 * which take every .c file of this folder), one file per Python type or
 * group of module functions:
 *
 *   module.c    the module: its function table, PyInit__speedups, and the
 *               helpers of the types (gc_dealloc, ArgSpec / bind_args)
 *   message.c   MessageFields, set_message_class, new_message
 *   poll.c      the messages buffer -> Message objects (parse_poll)
 *   pending.c   PendingRecords (Producer.produce)
 *   idle_poll.c IdlePoll (Producer.poll(0) when nothing is due)
 *   sends.c     AsyncSends (AsyncProducer.send), resolve_sends, track_futures
 *   batch.c     chunk_records, ChunkRecords, serve_entry (the sync
 *               Producer's push and backlog)
 *   library.c   bind_library, unbind_library, send_wait, consumer_poll
 *
 * Everything declared here is hidden (not exported from the shared
 * object, which exports PyInit__speedups only) so that, as when the
 * module was one file, a shared global costs a direct access.
 */
#ifndef GOFKA_SPEEDUPS_H
#define GOFKA_SPEEDUPS_H

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

#pragma GCC visibility push(hidden)

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
    /* Share consumers' records: how many times the record was delivered
     * (an int); NULL (read as None) for every other record. */
    PyObject *delivery_count;
} MessageFields;

/* message.c */
extern PyTypeObject *fields_type;   /* MessageFields (owned by the module) */
extern PyTypeObject *message_class; /* gofka.Message, set by set_message_class */
extern int message_class_gc;        /* whether message_class is GC-tracked */
extern PyType_Spec fields_spec;
PyObject *set_message_class(PyObject *module, PyObject *cls);
PyObject *new_message(PyObject *topic, PyObject *partition, PyObject *offset, PyObject *value,
                      PyObject *headers, PyObject *timestamp, PyObject *key);

/* Little-endian reads, the only ones of the module (every packed format
 * is little-endian on every host); callers cast for the unsigned fields.
 * Inline here so that each file's hot loops read as before the split. */
static inline int32_t rd32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static inline int64_t rd64(const unsigned char *p)
{
    return (int64_t)((uint64_t)(uint32_t)rd32(p) | (uint64_t)(uint32_t)rd32(p + 4) << 32);
}

/* poll.c */
PyObject *malformed(const char *what); /* ValueError "malformed messages buffer"; NULL */
PyObject *build_poll(const unsigned char *base, Py_ssize_t len);
PyObject *parse_poll(PyObject *module, PyObject *buf);

/* module.c: the helpers of the types */
void gc_dealloc(PyObject *self);
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
int intern_names(const ArgSpec *spec);
int bind_args(const ArgSpec *spec, PyObject *args, PyObject *kwds, PyObject **argv);
/* fn(owner, *args, **kwds) where owner_ref is a weakref to the owner (a
 * Producer or AsyncProducer): the fast paths' way to their Python method.
 * RuntimeError when the owner is gone. */
PyObject *call_with_owner(PyObject *owner_ref, PyObject *fn, PyObject *args, PyObject *kwds);

/* pending.c */
extern PyType_Spec pending_spec;
extern PyTypeObject *pending_type_obj;
/* The callback of a record's slot (new reference), once per record. */
PyObject *pending_take_callback(PyObject *self, Py_ssize_t slot);
extern const ArgSpec produce_spec;

/* idle_poll.c */
extern PyType_Spec idle_poll_spec;

/* sends.c */
extern PyType_Spec sends_spec;
extern const ArgSpec send_spec;
int sends_init_module(void);
PyObject *resolve_sends(PyObject *module, PyObject *args);
PyObject *track_futures(PyObject *module, PyObject *futs);

/* batch.c */
PyObject *chunk_records(PyObject *module, PyObject *args);
PyObject *serve_entry(PyObject *module, PyObject *args);
extern PyType_Spec chunk_spec;
extern PyTypeObject *chunk_type_obj; /* ChunkRecords (owned by the module) */

/* library.c */
PyObject *bind_library(PyObject *module, PyObject *args);
PyObject *unbind_library(PyObject *module, PyObject *args);
PyObject *send_wait(PyObject *module, PyObject *args);
PyObject *consumer_poll(PyObject *module, PyObject *args);

#pragma GCC visibility pop

#endif
