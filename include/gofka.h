/*
 * gofka.h - C ABI of libgofka, the Gofka Kafka client engine.
 *
 * Written by hand; tests/test_abi.py checks that every exported gofka_
 * symbol of libgofka.so is declared here and every function declared here is
 * exported, so the two cannot drift.
 *
 * General rules (they hold for every function unless its comment says
 * otherwise):
 *
 *  - Handles. Clients are opaque 64-bit handles; 0 is never a valid handle.
 *    Each kind of handle has exactly one destroy function (*_close). Using a
 *    destroyed, unknown or wrong-kind handle returns GOFKA_ERR_INVALID_HANDLE;
 *    it never crashes.
 *
 *  - Errors. Every function that can fail returns an int32_t code and, when
 *    `err` is not NULL, fills *err with the same code, the error's name,
 *    whether it is retriable, and a message. 0 means success (and *err is
 *    then set to code 0 with empty strings). Positive codes and -1 are Kafka
 *    protocol error codes as sent by the broker; codes <= -100 are raised by
 *    the client itself (GOFKA_ERR_*). The full table (code, name, retriable,
 *    category, description) is available from gofka_error_table(). There is
 *    no hidden per-thread error state.
 *
 *  - Memory. Input pointers are borrowed for the duration of the call only;
 *    the library copies what it keeps. Every buffer the library returns
 *    through a `char **` / `uint8_t **` out-parameter is allocated with
 *    malloc and must be released by the caller with gofka_free().
 *
 *  - Threads. Every function is thread-safe and may be called from any
 *    thread. Blocking functions take a timeout in milliseconds (a negative
 *    timeout means the client's configured default) and never block longer
 *    than that plus a small scheduling margin.
 *
 *  - Configuration. Clients are configured with a string of `key=value`
 *    lines separated by '\n' (blank lines and lines starting with '#' are
 *    ignored). Keys are Kafka-style property names (bootstrap.servers,
 *    client.id, ...); docs/configuration.md lists every key with its type
 *    and default. An unknown key or a malformed value is
 *    GOFKA_ERR_INVALID_ARGUMENT naming the key.
 */
#ifndef GOFKA_H
#define GOFKA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a function's signature or a packed format changes. */
#define GOFKA_ABI_VERSION 1

/* An opaque client handle. 0 is invalid. */
typedef uint64_t gofka_handle_t;

/* Client-local error codes (Kafka's own codes are >= -1). */
#define GOFKA_OK                       0
#define GOFKA_ERR_LOCAL_UNKNOWN     (-100)
#define GOFKA_ERR_INVALID_ARGUMENT  (-101)
#define GOFKA_ERR_INVALID_HANDLE    (-102)
#define GOFKA_ERR_CLIENT_CLOSED     (-103)
#define GOFKA_ERR_TIMED_OUT         (-104)
#define GOFKA_ERR_CONNECTION_FAILED (-105)
#define GOFKA_ERR_NO_BROKERS        (-106)

/* Error details, filled by every function that takes one (may be NULL).
 * Strings are NUL-terminated and truncated to fit. */
typedef struct gofka_error {
    int32_t code;       /* same as the function's return value */
    int32_t retriable;  /* 1 when retrying the same call may succeed */
    char name[64];      /* e.g. "NOT_LEADER_OR_FOLLOWER", "TIMED_OUT" */
    char message[952];  /* human-readable detail, never contains secrets */
} gofka_error_t;

/* The library itself compiles this header for its types only (its cgo
 * exports are declared by cgo without const qualifiers). */
#ifndef GOFKA_TYPES_ONLY

/* ---------------------------------------------------------------------- */
/* Library                                                                 */
/* ---------------------------------------------------------------------- */

/* The library version, e.g. "0.2.0". Static storage owned by the library:
 * do not free. Never blocks. */
const char *gofka_version(void);

/* The ABI version the library was built with (GOFKA_ABI_VERSION). Bindings
 * compare it with the version they were written for. Never blocks. */
int32_t gofka_abi_version(void);

/* Releases a buffer returned by the library. NULL is ignored. */
void gofka_free(void *ptr);

/* The error-code table as a JSON array of objects
 * {"code":int,"name":str,"retriable":bool,"category":str,"description":str}.
 * *json_out (NUL-terminated, *len_out bytes without the NUL) is freed by the
 * caller with gofka_free. Never blocks. */
int32_t gofka_error_table(char **json_out, size_t *len_out, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Producer                                                                */
/* ---------------------------------------------------------------------- */

/* Creates a producer from a configuration string (see the top of this
 * file; at least bootstrap.servers). Does not connect: no network I/O.
 * On success *out holds the new handle, released by gofka_producer_close. */
int32_t gofka_producer_new(const char *config, gofka_handle_t *out, gofka_error_t *err);

/* Connects to the cluster: dials the bootstrap brokers in order until one
 * answers, negotiates API versions and loads metadata. Blocks up to
 * timeout_ms. Calling it again on a connected producer is a no-op.
 * Other producer calls connect on demand, so calling it is optional. */
int32_t gofka_producer_connect(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* Sends one record and blocks until the broker acknowledges it (or
 * timeout_ms passes), storing its offset in *offset_out (may be NULL;
 * -1 when acks=0).
 *   topic        NUL-terminated topic name.
 *   partition    partition number, or -1 to let the partitioner choose.
 *   key/key_len  key bytes; key_len -1 means a null key.
 *   value/value_len  value bytes; value_len -1 means a null value.
 *   headers/headers_len  packed headers (format below), or NULL/0.
 *   timestamp_ms record timestamp in ms since the epoch; -1 means now. */
int32_t gofka_producer_send(gofka_handle_t producer, const char *topic, int32_t partition,
                            const uint8_t *key, int64_t key_len,
                            const uint8_t *value, int64_t value_len,
                            const uint8_t *headers, size_t headers_len,
                            int64_t timestamp_ms, int32_t timeout_ms,
                            int64_t *offset_out, gofka_error_t *err);

/* Sends `count` records packed in one buffer (format below) to one topic,
 * crossing the library boundary once, and blocks until all are
 * acknowledged or timeout_ms passes. offsets_out (may be NULL) receives
 * `count` offsets in input order. partition -1 lets the partitioner choose
 * per record. On failure no offset is stored and the records may or may
 * not have been written (the error says which partition failed). */
int32_t gofka_producer_send_batch(gofka_handle_t producer, const char *topic, int32_t partition,
                                  const uint8_t *records, size_t records_len, int32_t count,
                                  int32_t timeout_ms, int64_t *offsets_out, gofka_error_t *err);

/* Closes the producer and destroys the handle: waits up to timeout_ms for
 * requests in flight, then closes every connection. The handle is invalid
 * afterwards, even when an error is returned. */
int32_t gofka_producer_close(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/*
 * Packed formats. All integers are little-endian.
 *
 *  headers:  int32 count, then per header:
 *              int32 key_len, key bytes (UTF-8),
 *              int32 value_len (-1 = null), value bytes
 *
 *  records:  per record, back to back:
 *              int32 key_len (-1 = null), key bytes,
 *              int32 value_len (-1 = null), value bytes,
 *              int64 timestamp_ms (-1 = now),
 *              int32 headers_len, then that many bytes in the headers format
 *              (0 = no headers)
 */

/* ---------------------------------------------------------------------- */
/* Admin                                                                   */
/* ---------------------------------------------------------------------- */

/* Creates an admin client (see gofka_producer_new for config and handle
 * rules). Released by gofka_admin_close. */
int32_t gofka_admin_new(const char *config, gofka_handle_t *out, gofka_error_t *err);

/* Lists topic names as a JSON array of strings, sorted. Internal topics
 * (e.g. __consumer_offsets) are included only when include_internal is
 * non-zero. *json_out is freed with gofka_free. Blocks up to timeout_ms. */
int32_t gofka_admin_list_topics(gofka_handle_t admin, int32_t include_internal, int32_t timeout_ms,
                                char **json_out, size_t *len_out, gofka_error_t *err);

/* Closes the admin client and destroys the handle. */
int32_t gofka_admin_close(gofka_handle_t admin, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Event queues: the asynchronous bridge                                   */
/* ---------------------------------------------------------------------- */
/*
 * Asynchronous operations (the *_async functions) return at once and later
 * post one completion event, tagged with the caller's 64-bit token, to an
 * event queue. A queue owns a file descriptor that becomes readable when
 * the queue turns non-empty, so an event loop (asyncio's add_reader,
 * poll(2), epoll) can wait for it; gofka_queue_drain then takes many events
 * in one call. The library never calls back into the caller's code. Several
 * clients may share one queue.
 *
 *  events:  per event, back to back (little-endian):
 *             uint64 token, int32 code (0 = success, else an error code),
 *             int32 partition (-1 when not applicable),
 *             int64 offset (-1 when not applicable),
 *             uint32 payload_len, payload bytes: the operation's result
 *             (documented per function) or, when code != 0, the error
 *             message.
 */

/* Creates an event queue. Released by gofka_queue_close. */
int32_t gofka_queue_new(gofka_handle_t *out, gofka_error_t *err);

/* The queue's readable-when-non-empty file descriptor. Owned by the queue:
 * do not read, write or close it; it stays valid until gofka_queue_close. */
int32_t gofka_queue_fd(gofka_handle_t queue, int32_t *fd_out, gofka_error_t *err);

/* Takes up to max_events events, waiting up to timeout_ms (0 = do not wait)
 * for the first one. *count_out receives the number taken (0 on timeout,
 * then *buf_out is NULL); *buf_out (events format above, *len_out bytes) is
 * freed with gofka_free. */
int32_t gofka_queue_drain(gofka_handle_t queue, int32_t max_events, int32_t timeout_ms,
                          uint8_t **buf_out, size_t *len_out, int32_t *count_out,
                          gofka_error_t *err);

/* Closes the queue and destroys the handle. Events still queued, and
 * completions of operations still running, are dropped. */
int32_t gofka_queue_close(gofka_handle_t queue, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Dev cluster: an in-process Kafka-compatible cluster on loopback, for     */
/* demos and tests (not for production data: it keeps everything in memory)*/
/* ---------------------------------------------------------------------- */

/* Starts a dev cluster of num_brokers brokers (1..16) on 127.0.0.1. port 0
 * picks free ports; otherwise brokers listen on port, port+1, ...
 * Topics are created automatically on first use. Released by
 * gofka_devcluster_close. */
int32_t gofka_devcluster_new(int32_t num_brokers, int32_t port, gofka_handle_t *out, gofka_error_t *err);

/* The bootstrap string "127.0.0.1:p1,127.0.0.1:p2,..."; *out is freed with
 * gofka_free. */
int32_t gofka_devcluster_brokers(gofka_handle_t cluster, char **out, size_t *len_out, gofka_error_t *err);

/* Stops the dev cluster and destroys the handle. */
int32_t gofka_devcluster_close(gofka_handle_t cluster, gofka_error_t *err);

#endif /* GOFKA_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* GOFKA_H */
