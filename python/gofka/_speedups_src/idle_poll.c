#include "speedups.h"
#include <errno.h>
#include <poll.h>

/* IdlePoll: Producer.poll(0) at C speed when nothing is due.
 *
 * A confluent-kafka produce loop calls poll(0) after every produce(). Most
 * of those calls find no result: the engine posts one event per batch.
 * Through the Python method such a call cost about as much as produce()
 * itself (argument checks, select() with its list building and GIL
 * release). Producer.__init__ binds `poll` to an IdlePoll instead; a call
 * answers 0 here when all of these hold, and otherwise goes to the Python
 * method (Producer.poll, which decides everything else):
 *
 *   - the only argument is a timeout that is exactly int 0 or float 0.0
 *     (poll(0) pushes nothing: the producer's flusher thread does);
 *   - `fd` >= 0: the producer's event queue exists (-1 before it does,
 *     after close released it and in a forked child, so that those calls
 *     reach the method, which raises or serves as it documents);
 *   - the producer's backlog (results drained but not served) is empty;
 *   - no event waits on the queue: its ready flag reads 0
 *     (gofka_queue_ready_flag: one atomic load, where asking the fd with
 *     a zero-timeout poll(2) cost a system call, ~0.45 us of the ~0.5 us
 *     such a call took); without a flag (`flag` 0), the fd is not
 *     readable, asked with poll(2) (which does not release the GIL).
 *
 * The owner is held weakly (no reference cycle, so an unclosed producer
 * is still finalized by reference counting). Thread-safety: runs under the
 * GIL; `fd` and `flag` are written by the owner under the GIL, and the
 * flag is read only while fd >= 0: the owner sets fd to -1 before it
 * closes the queue (which frees the flag), and no GIL release comes
 * between the check and the load.
 */

typedef struct {
    PyObject_HEAD
    PyObject *owner;   /* weakref to the Producer */
    PyObject *method;  /* the unbound Python method, called with the owner */
    PyObject *backlog; /* the owner's backlog (a deque; only its length is read) */
    int fd;            /* attribute `fd` (T_INT): the event queue's fd, -1 = none */
    unsigned long long flag; /* attribute `flag`: address of the queue's ready flag, 0 = none (ask fd) */
} IdlePoll;

static int idle_traverse(PyObject *self, visitproc visit, void *arg)
{
    IdlePoll *p = (IdlePoll *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(p->owner);
    Py_VISIT(p->method);
    Py_VISIT(p->backlog);
    return 0;
}

static int idle_clear(PyObject *self)
{
    IdlePoll *p = (IdlePoll *)self;
    Py_CLEAR(p->owner);
    Py_CLEAR(p->method);
    Py_CLEAR(p->backlog);
    return 0;
}

static int idle_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"owner", "method", "backlog", NULL};
    IdlePoll *p = (IdlePoll *)self;
    PyObject *owner, *method, *backlog, *ref;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:IdlePoll", kwlist, &owner, &method, &backlog))
        return -1;
    if (!PyCallable_Check(method)) {
        PyErr_SetString(PyExc_TypeError, "method must be callable");
        return -1;
    }
    if ((ref = PyWeakref_NewRef(owner, NULL)) == NULL)
        return -1;
    idle_clear(self);
    p->owner = ref;
    Py_INCREF(method);
    p->method = method;
    Py_INCREF(backlog);
    p->backlog = backlog;
    p->fd = -1;
    p->flag = 0;
    return 0;
}

/* Whether the call's only argument is a timeout of exactly 0. */
static int zero_timeout(PyObject *args, PyObject *kwds)
{
    PyObject *t = NULL;
    Py_ssize_t na = PyTuple_Size(args), nk = kwds == NULL ? 0 : PyDict_Size(kwds);
    if (na == 1 && nk == 0)
        t = PyTuple_GetItem(args, 0);
    else if (na == 0 && nk == 1)
        t = PyDict_GetItemString(kwds, "timeout");
    if (t == NULL)
        return 0;
    /* Exact types: bool (an int subclass) and other numbers take the
     * method's checks and errors. */
    if (Py_TYPE(t) == &PyLong_Type) {
        int overflow = 0;
        return PyLong_AsLongAndOverflow(t, &overflow) == 0 && !overflow;
    }
    if (Py_TYPE(t) == &PyFloat_Type)
        return PyFloat_AsDouble(t) == 0.0;
    return 0;
}

static PyObject *idle_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    IdlePoll *p = (IdlePoll *)self;
    if (p->fd >= 0 && zero_timeout(args, kwds)) {
        Py_ssize_t waiting = PyObject_Size(p->backlog);
        if (waiting < 0)
            return NULL;
        if (waiting == 0 && p->flag != 0) {
            /* Only while the owner lives: its queue (which owns the flag)
             * may be freed once it is gone, without fd being reset; the
             * method then raises. A live owner's queue is closed only
             * after fd was set to -1. */
            PyObject *owner = PyWeakref_GetObject(p->owner);
            if (owner == NULL)
                return NULL;
            if (owner != Py_None && __atomic_load_n((const int32_t *)(uintptr_t)p->flag, __ATOMIC_ACQUIRE) == 0)
                return PyLong_FromLong(0);
        } else if (waiting == 0) {
            struct pollfd pfd;
            int rc;
            pfd.fd = p->fd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            do
                rc = poll(&pfd, 1, 0);
            while (rc < 0 && errno == EINTR);
            if (rc == 0)
                return PyLong_FromLong(0);
        }
    }
    return call_with_owner(p->owner, p->method, args, kwds);
}

static PyMemberDef idle_members[] = {
    {"fd", T_INT, offsetof(IdlePoll, fd), 0, "the owner's event queue fd; -1: every call goes to the method"},
    {"flag", T_ULONGLONG, offsetof(IdlePoll, flag), 0,
     "address of the owner's queue's ready flag (gofka_queue_ready_flag), read while fd >= 0; 0: ask fd"},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot idle_slots[] = {
    {Py_tp_doc, "IdlePoll(owner, method, backlog): Producer.poll, answering poll(0) in C when nothing is due."},
    {Py_tp_init, idle_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_call, idle_call},
    {Py_tp_dealloc, gc_dealloc},
    {Py_tp_traverse, idle_traverse},
    {Py_tp_clear, idle_clear},
    {Py_tp_members, idle_members},
    {0, NULL},
};

PyType_Spec idle_poll_spec = {
    "gofka._speedups.IdlePoll",
    sizeof(IdlePoll),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    idle_slots,
};
