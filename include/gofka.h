/*
 * gofka.h - C ABI of libgofka, the Gofka Kafka client engine.
 *
 * Written by hand, except the regions between "BEGIN GENERATED" and "END
 * GENERATED" comments: the error codes (from wire/errors.go) and the sizes
 * and offsets of the packed records (from internal/packed), which `make
 * docs` regenerates (go run ./wire/cmd/errordoc -header include/gofka.h)
 * and a Go test checks. tests/test_abi.py checks that every exported gofka_
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
 *  - fork(). Loading the library starts the Go runtime and its threads,
 *    which a fork()ed child does not inherit: a child must not call any
 *    function of this library loaded before the fork (the call may block
 *    forever, or act on the parent's connections: a send through an
 *    inherited idempotent producer reuses the parent's sequence numbers),
 *    not even to close handles it inherited (drop them: the parent still
 *    owns them). The library cannot detect this itself: entering Go in
 *    such a child may block before any check runs. Load the library after
 *    forking (dlopen in the child), or fork+exec. The Python package
 *    enforces it with gofka.ForkError (docs/architecture.md, "fork()").
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

/* BEGIN GENERATED: error codes (make docs; wire/errors.go) */
/* Client-local error codes (Kafka's own codes are >= -1); docs/errors.md
 * and gofka_error_table() list every code with its name and category. */
/* Success. */
#define GOFKA_OK                                 0
/* The client failed with an error it could not classify. */
#define GOFKA_ERR_LOCAL_UNKNOWN             (-100)
/* An argument passed to the client is invalid. */
#define GOFKA_ERR_INVALID_ARGUMENT          (-101)
/* The handle does not refer to a live client object. */
#define GOFKA_ERR_INVALID_HANDLE            (-102)
/* The client has been closed. */
#define GOFKA_ERR_CLIENT_CLOSED             (-103)
/* The operation did not complete before its deadline. */
#define GOFKA_ERR_TIMED_OUT                 (-104)
/* Connecting to, writing to or reading from a broker failed. */
#define GOFKA_ERR_CONNECTION_FAILED         (-105)
/* No broker could be reached. */
#define GOFKA_ERR_NO_BROKERS                (-106)
/* The broker does not support any version of the API that the client implements. */
#define GOFKA_ERR_UNSUPPORTED_VERSION_LOCAL (-107)
/* A response from the broker could not be decoded. */
#define GOFKA_ERR_CORRUPT_RESPONSE          (-108)
/* The local send buffer is full. */
#define GOFKA_ERR_QUEUE_FULL                (-109)
/* The record is larger than the client's configured maximum request size. */
#define GOFKA_ERR_MESSAGE_TOO_LARGE_LOCAL   (-110)
/* The record was not acknowledged before the delivery timeout expired. */
#define GOFKA_ERR_DELIVERY_TIMEOUT          (-111)
/* The partition does not exist in the client's metadata. */
#define GOFKA_ERR_PARTITION_NOT_FOUND       (-112)
/* The client could not authenticate to the broker. */
#define GOFKA_ERR_AUTHENTICATION_LOCAL      (-113)
/* The operation was interrupted or cancelled. */
#define GOFKA_ERR_INTERRUPTED               (-114)
/* There is no committed offset and the offset reset policy is none. */
#define GOFKA_ERR_NO_OFFSET                 (-115)
/* The partition is not assigned to this consumer. */
#define GOFKA_ERR_NOT_ASSIGNED              (-116)
/* The TLS handshake or certificate verification failed. */
#define GOFKA_ERR_TLS_FAILED                (-117)
/* No broker was reachable: nothing was sent (a producer's records were not written). */
#define GOFKA_ERR_ALL_BROKERS_DOWN          (-118)
/* The transaction cannot commit (a record or the offsets were refused): abort it, then go on with a new transaction. */
#define GOFKA_ERR_TXN_ABORTABLE             (-119)
/* The transactional producer can do nothing more (fenced by a newer producer with the same transactional.id, or not authorized): close it. */
#define GOFKA_ERR_TXN_FATAL                 (-120)
/* END GENERATED: error codes */

/* BEGIN GENERATED: packed layouts (make docs; internal/packed) */
/* Sizes and byte offsets of the fixed-size records of the packed formats
 * (all little-endian, no padding); the formats are described with the
 * functions that use them. */
/* event: head of one event (events format); payload_len payload bytes follow */
#define GOFKA_EVENT_SIZE 28
#define GOFKA_EVENT_TOKEN_OFFSET 0 /* uint64_t */
#define GOFKA_EVENT_CODE_OFFSET 8 /* int32_t */
#define GOFKA_EVENT_PARTITION_OFFSET 12 /* int32_t */
#define GOFKA_EVENT_OFFSET_OFFSET 16 /* int64_t */
#define GOFKA_EVENT_PAYLOAD_LEN_OFFSET 24 /* uint32_t */
/* batch_result: result of one record of a produce_batch event (count of them, in input order) */
#define GOFKA_BATCH_RESULT_SIZE 16
#define GOFKA_BATCH_RESULT_CODE_OFFSET 0 /* int32_t */
#define GOFKA_BATCH_RESULT_PARTITION_OFFSET 4 /* int32_t */
#define GOFKA_BATCH_RESULT_OFFSET_OFFSET 8 /* int64_t */
/* poll_header: start of the messages format (gofka_consumer_poll) */
#define GOFKA_POLL_HEADER_SIZE 12
#define GOFKA_POLL_HEADER_MESSAGE_COUNT_OFFSET 0 /* int32_t */
#define GOFKA_POLL_HEADER_EVENT_COUNT_OFFSET 4 /* int32_t */
#define GOFKA_POLL_HEADER_TOPIC_COUNT_OFFSET 8 /* int32_t */
/* message_head: fixed part of one message of the messages format; ranges [start, end) of the whole buffer, -1/-1 for none */
#define GOFKA_MESSAGE_HEAD_SIZE 48
#define GOFKA_MESSAGE_HEAD_TOPIC_INDEX_OFFSET 0 /* int32_t */
#define GOFKA_MESSAGE_HEAD_PARTITION_OFFSET 4 /* int32_t */
#define GOFKA_MESSAGE_HEAD_OFFSET_OFFSET 8 /* int64_t */
#define GOFKA_MESSAGE_HEAD_TIMESTAMP_MS_OFFSET 16 /* int64_t */
#define GOFKA_MESSAGE_HEAD_KEY_START_OFFSET 24 /* int32_t */
#define GOFKA_MESSAGE_HEAD_KEY_END_OFFSET 28 /* int32_t */
#define GOFKA_MESSAGE_HEAD_VALUE_START_OFFSET 32 /* int32_t */
#define GOFKA_MESSAGE_HEAD_VALUE_END_OFFSET 36 /* int32_t */
#define GOFKA_MESSAGE_HEAD_HEADERS_START_OFFSET 40 /* int32_t */
#define GOFKA_MESSAGE_HEAD_HEADERS_END_OFFSET 44 /* int32_t */
/* log_head: start of one line of the log format; subsystem_len subsystem bytes, uint32 message_len and the message follow */
#define GOFKA_LOG_HEAD_SIZE 16
#define GOFKA_LOG_HEAD_LEVEL_OFFSET 0 /* int32_t */
#define GOFKA_LOG_HEAD_TIME_NS_OFFSET 4 /* int64_t */
#define GOFKA_LOG_HEAD_SUBSYSTEM_LEN_OFFSET 12 /* uint32_t */
/* END GENERATED: packed layouts */

/* Error details, filled by every function that takes one (may be NULL).
 * Strings are NUL-terminated and truncated to fit. 1024 bytes in all. */
typedef struct gofka_error {
    int32_t code;       /* same as the function's return value */
    int32_t retriable;  /* 1 when retrying the same call may succeed */
    char name[64];      /* e.g. "NOT_LEADER_OR_FOLLOWER", "TIMED_OUT" */
    char message[824];  /* human-readable detail, never contains secrets */
    char broker[128];   /* the broker involved ("host:port" or node id), "" when unknown */
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
/* Engine log                                                              */
/* ---------------------------------------------------------------------- */
/*
 * The engine logs connection, metadata and consumer-group events into one
 * process-wide buffer (10000 lines; when it is full the oldest lines are
 * dropped and the next drain starts with a WARNING saying how many). The
 * library never calls the caller's code: the caller drains the buffer, e.g.
 * from a thread of its own (the Python package does so for
 * logging.getLogger("gofka")). Logging is off until gofka_log_set_level
 * enables a level.
 *
 *  log lines:  per line, back to back (little-endian):
 *                int32 level (a GOFKA_LOG_* value),
 *                int64 time (ns since the epoch),
 *                uint32 subsystem_len, subsystem bytes ("conn", "metadata",
 *                  "group", ... ; UTF-8, no NUL),
 *                uint32 message_len, message bytes (UTF-8, no NUL)
 */

/* Log levels: the numbers of Python's logging module. */
#define GOFKA_LOG_DEBUG    10
#define GOFKA_LOG_INFO     20
#define GOFKA_LOG_WARNING  30
#define GOFKA_LOG_ERROR    40
#define GOFKA_LOG_OFF     100 /* the default: nothing is logged */

/* Sets the lowest level that is logged, 0..GOFKA_LOG_OFF; lines below it
 * are never formatted. Applies at once to every client of the process.
 * Never blocks. A level outside 0..100 is GOFKA_ERR_INVALID_ARGUMENT. */
int32_t gofka_log_set_level(int32_t level, gofka_error_t *err);

/* Takes up to max_lines (> 0) buffered lines, oldest first, waiting up to
 * timeout_ms (0 or negative = do not wait) for the first one. *count_out
 * receives the number taken (0 on timeout, then *buf_out is NULL and
 * *len_out 0); *buf_out (log lines format above, *len_out bytes) is freed
 * with gofka_free. len_out may be NULL. Thread-safe; concurrent drains
 * each get different lines. */
int32_t gofka_log_drain(int32_t max_lines, int32_t timeout_ms, uint8_t **buf_out, size_t *len_out,
                        int32_t *count_out, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Producer                                                                */
/* ---------------------------------------------------------------------- */

/*
 * A producer buffers records per partition (batch.size, linger.ms, bounded
 * in total by buffer.memory), sends ready batches to each partition leader
 * with up to max.in.flight.requests.per.connection pipelined requests per
 * broker, and retries retriable failures (re-routing after leader moves)
 * as the retry.* properties say, until delivery.timeout.ms. With
 * enable.idempotence (the default with acks=all) retries neither duplicate
 * nor reorder records. A partition number >= 0 is used as is, whatever
 * the key. Partitioning when partition is -1: murmur2 of the key as the
 * Java client places it (toPositive(murmur2(key)) % partitions) for keyed
 * records, the sticky partitioner (KIP-480) for records without a key.
 * Callers that want a key to choose pass -1 (the Python package does when
 * no partition is given and the record has a key). A partition number the
 * topic does not have fails with PARTITION_NOT_FOUND (-112) once fresh
 * metadata confirms it. A record larger than max.request.size (default 1
 * MiB) fails with MESSAGE_TOO_LARGE_LOCAL (-110) without being sent; the
 * broker may still refuse a smaller one with MESSAGE_TOO_LARGE (10).
 *
 * Two ways to produce:
 *  - blocking: gofka_producer_send / gofka_producer_send_batch return once
 *    the records are acknowledged (they wait for room in buffer.memory too);
 *  - non-blocking: gofka_producer_produce / gofka_producer_produce_batch
 *    buffer the records and return at once; the results arrive later as
 *    events on an event queue (see "Event queues" below). When
 *    buffer.memory has no room they fail at once with GOFKA_ERR_QUEUE_FULL
 *    (nothing is buffered): drain some events (or wait) and try again.
 * gofka_producer_flush waits for everything buffered by either way.
 */

/* Creates a producer from a configuration string (see the top of this
 * file; at least bootstrap.servers; producer keys: acks, compression.type,
 * batch.size, linger.ms, max.in.flight.requests.per.connection,
 * enable.idempotence, buffer.memory, delivery.timeout.ms, max.request.size,
 * retries, retry.backoff.ms, ...). Does not connect: no network I/O. An
 * inconsistent combination (e.g. enable.idempotence=true with acks=1) is
 * GOFKA_ERR_INVALID_ARGUMENT. transactional.id (with
 * transaction.timeout.ms) makes it a transactional producer: see
 * "Transactions" below. On success *out holds the new handle, released by
 * gofka_producer_close. */
int32_t gofka_producer_new(const char *config, gofka_handle_t *out, gofka_error_t *err);

/* Connects to the cluster: dials the bootstrap brokers in order until one
 * answers, negotiates API versions and loads metadata. Blocks up to
 * timeout_ms. Calling it again on a connected producer is a no-op.
 * Other producer calls connect on demand, so calling it is optional. */
int32_t gofka_producer_connect(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* Sends one record and blocks until the broker acknowledges it (or
 * timeout_ms passes: then GOFKA_ERR_TIMED_OUT, and the record, copied by
 * the library, may still be delivered later), storing its offset in
 * *offset_out (may be NULL; -1 when acks=0).
 *   topic        NUL-terminated topic name.
 *   partition    partition number, or -1 to let the partitioner choose.
 *   key/key_len  key bytes; key_len -1 means a null key.
 *   value/value_len  value bytes; value_len -1 means a null value.
 *   headers/headers_len  packed headers (format below), or NULL/0.
 *   timestamp_ms record timestamp in ms since the epoch; -1 means now; below -1
 *                is GOFKA_ERR_INVALID_ARGUMENT (as in Python). */
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
 * per record. On failure no offset is stored, the error is the first
 * failed record's (in input order), and the other records may or may not
 * have been written. */
int32_t gofka_producer_send_batch(gofka_handle_t producer, const char *topic, int32_t partition,
                                  const uint8_t *records, size_t records_len, int32_t count,
                                  int32_t timeout_ms, int64_t *offsets_out, gofka_error_t *err);

/* Buffers one record and returns at once (never waits for the network).
 * Arguments as gofka_producer_send. When queue is not 0, one event tagged
 * `token` is posted to it once the record is acknowledged or has failed:
 * code 0 with the record's partition and offset (offset -1 with acks=0),
 * or the error code with the partition (-1 if none was chosen) and the
 * error message as payload. With queue 0 no event is posted (the result is
 * only visible through gofka_producer_flush). A non-zero return (closed
 * producer, bad argument, record too large, GOFKA_ERR_QUEUE_FULL) means
 * nothing was buffered and no event will come. */
int32_t gofka_producer_produce(gofka_handle_t producer, gofka_handle_t queue, uint64_t token,
                               const char *topic, int32_t partition,
                               const uint8_t *key, int64_t key_len,
                               const uint8_t *value, int64_t value_len,
                               const uint8_t *headers, size_t headers_len,
                               int64_t timestamp_ms, gofka_error_t *err);

/* gofka_producer_produce (queue required) followed by gofka_queue_drain of
 * that queue (max_events, timeout_ms, buf_out, len_out, count_out as
 * there), in one call: the building block of a sync send that waits in
 * slices (to stay interruptible) without a thread of the library waking
 * for the acknowledgement. Before the record goes out, the calling thread
 * claims the partition leader's connection, so that it alone wakes for
 * and reads the response; the claim ends before the call returns. When
 * the produce fails nothing is buffered, no event will come and the
 * return is its error; otherwise the return is the drain's (0 with
 * count_out 0 when the event has not come within timeout_ms: drain the
 * queue for it as usual). */
int32_t gofka_producer_produce_wait(gofka_handle_t producer, gofka_handle_t queue, uint64_t token,
                                    const char *topic, int32_t partition,
                                    const uint8_t *key, int64_t key_len,
                                    const uint8_t *value, int64_t value_len,
                                    const uint8_t *headers, size_t headers_len,
                                    int64_t timestamp_ms, int32_t max_events, int32_t timeout_ms,
                                    uint8_t **buf_out, size_t *len_out, int32_t *count_out,
                                    gofka_error_t *err);

/* Buffers `count` packed records (format below) for one topic in one call
 * and returns at once, all or nothing: a non-zero return (closed producer,
 * bad argument, a record too large, GOFKA_ERR_QUEUE_FULL when
 * buffer.memory has no room for the whole batch now,
 * GOFKA_ERR_INVALID_ARGUMENT for a batch larger than buffer.memory itself:
 * split such batches) means no record was buffered and no event will come.
 * partition -1 lets the partitioner choose per record.
 *
 * When queue is not 0, ONE event tagged `token` is posted once every
 * record has its result (one event per batch rather than per record: the
 * caller resolves the whole batch from one buffer). Its code is 0, its
 * partition and offset -1, and its payload (little-endian):
 *     count times: int32 code (0 = ok), int32 partition, int64 offset
 *                  (-1 when failed or acks=0), in input order;
 *     then, for each record whose code is not 0, in input order:
 *                  uint32 len, then len bytes: its error payload, in the
 *                  form error events carry (message [NUL broker]).
 * An empty batch (count 0) posts its event at once with an empty payload. */
int32_t gofka_producer_produce_batch(gofka_handle_t producer, gofka_handle_t queue, uint64_t token,
                                     const char *topic, int32_t partition,
                                     const uint8_t *records, size_t records_len, int32_t count,
                                     gofka_error_t *err);

/* gofka_producer_produce_batch for records that have only a value (null
 * key, no headers, timestamp now), in a columnar form that callers build
 * without a per-record loop: lengths[i] (count int32s; -1 = a null value)
 * and the values back to back in values/values_len (null values take no
 * bytes; the lengths must add up to values_len). Same rules, event and
 * payload as gofka_producer_produce_batch. */
int32_t gofka_producer_produce_values(gofka_handle_t producer, gofka_handle_t queue, uint64_t token,
                                      const char *topic, int32_t partition,
                                      const int32_t *lengths, const uint8_t *values, size_t values_len,
                                      int32_t count, gofka_error_t *err);

/* Sends every buffered record now (ignoring linger.ms) and blocks until all
 * records buffered by any call have their result, or timeout_ms passes
 * (GOFKA_ERR_TIMED_OUT; nothing is lost: the records stay buffered).
 * Events of the produce calls are posted before it returns 0. Records
 * produced while it waits are waited for too. */
int32_t gofka_producer_flush(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* Stores the number of partitions of topic in *out, loading its metadata
 * when the producer does not have it (which, with allow.auto.create.topics,
 * creates the topic on brokers that allow it). Blocks up to timeout_ms only
 * when the metadata is not cached. A missing topic with
 * allow.auto.create.topics=false is UNKNOWN_TOPIC_OR_PARTITION (3). */
int32_t gofka_producer_partition_count(gofka_handle_t producer, const char *topic, int32_t timeout_ms,
                                       int32_t *out, gofka_error_t *err);

/* Closes the producer and destroys the handle: flushes (as
 * gofka_producer_flush), then fails whatever is still buffered or in
 * flight with GOFKA_ERR_CLIENT_CLOSED and closes every connection, all
 * within timeout_ms (one bound for the whole call; 0 = do not wait, negative =
 * request.timeout.ms). Undelivered records are never dropped silently:
 * each one's completion (the event of gofka_producer_produce /
 * produce_batch / produce_values, the result of gofka_producer_send) is
 * posted with GOFKA_ERR_CLIENT_CLOSED before close returns, and the return
 * is then GOFKA_ERR_TIMED_OUT. The library has no exit hook: a process
 * that exits without calling close loses the records still buffered, so
 * call it (e.g. from atexit) before exiting. Calls racing with it fail
 * with GOFKA_ERR_CLIENT_CLOSED or GOFKA_ERR_INVALID_HANDLE. The handle is
 * invalid afterwards, even when an error is returned. */
int32_t gofka_producer_close(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Transactions (docs/transactions.md)                                    */
/* ---------------------------------------------------------------------- */

/*
 * A producer created with transactional.id (which implies
 * enable.idempotence=true and acks=all) writes records in transactions:
 * gofka_producer_init_transactions once, then for each transaction
 * gofka_producer_begin_transaction, any produce/send calls (every one works
 * inside a transaction; outside one they fail with INVALID_TXN_STATE, 48),
 * optionally gofka_producer_send_offsets_to_transaction, and
 * gofka_producer_commit_transaction or gofka_producer_abort_transaction.
 * read_committed consumers see a transaction's records (and the group sees
 * its offsets) when, and only when, it commits.
 *
 * Errors of these calls (and of produce calls inside a transaction once
 * it failed) that change the transaction's state are one of two codes:
 *   GOFKA_ERR_TXN_ABORTABLE: the transaction cannot commit (a record, a
 *     partition or the offsets were refused, or the coordinator aborted a
 *     transaction that outlived transaction.timeout.ms). Call
 *     gofka_producer_abort_transaction and go on with a new transaction.
 *     A record refused with INVALID_PRODUCER_EPOCH is abortable, as in the
 *     Java client (KIP-588): the partition leader cannot tell a timed-out
 *     transaction from a takeover; the abort then fails with
 *     GOFKA_ERR_TXN_FATAL if the producer was fenced.
 *   GOFKA_ERR_TXN_FATAL: another producer with the same transactional.id
 *     took over (fenced), or the producer is not authorized: every call but
 *     gofka_producer_close fails the same way; close the producer.
 * The message names the cause (e.g. "PRODUCER_FENCED"). Any other code
 * (GOFKA_ERR_TIMED_OUT, INVALID_TXN_STATE for a call out of order,
 * GOFKA_ERR_INVALID_ARGUMENT, ...) leaves the state as it was: after a
 * timeout the same call may be made again.
 *
 * timeout_ms bounds the whole call (negative = delivery.timeout.ms).
 * Thread-safety: the calls are thread-safe and serialised per producer,
 * but a transaction is one sequence: do not produce concurrently with
 * commit (a record racing with it may land in the next transaction).
 * A producer without transactional.id gets GOFKA_ERR_INVALID_ARGUMENT.
 */

/* Registers the transactional.id with its transaction coordinator and
 * fences any earlier producer with the same id (its open transaction is
 * aborted). Once, before the first transaction. Blocks up to timeout_ms. */
int32_t gofka_producer_init_transactions(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* Starts a transaction. Local only: never blocks, no network I/O. Fails
 * with INVALID_TXN_STATE (48) before init_transactions or while a
 * transaction is open. */
int32_t gofka_producer_begin_transaction(gofka_handle_t producer, gofka_error_t *err);

/* Sends every record of the transaction (as gofka_producer_flush), then
 * commits it. Blocks up to timeout_ms; GOFKA_ERR_TIMED_OUT leaves the
 * transaction committing, and commit may be called again. A record of the
 * transaction that failed makes it GOFKA_ERR_TXN_ABORTABLE. */
int32_t gofka_producer_commit_transaction(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* Aborts the transaction: records not sent yet fail (their completions
 * carry OPERATION_NOT_ATTEMPTED, 55), those in flight are waited for, and
 * the coordinator discards everything the transaction wrote. Blocks up to
 * timeout_ms; after GOFKA_ERR_TIMED_OUT it may be called again. */
int32_t gofka_producer_abort_transaction(gofka_handle_t producer, int32_t timeout_ms, gofka_error_t *err);

/* Adds a consumer group's offsets to the current transaction: they are
 * committed when, and only when, the transaction commits. `offsets` is the
 * offsets format (the next offset to consume of each partition, as
 * gofka_consumer_commit takes them; timestamps ignored; a partition at
 * most once). `group_metadata` is the NUL-terminated string
 * gofka_consumer_group_metadata returned (borrowed for the call); take it
 * right before this call, it changes at every rebalance. A member fenced
 * by a rebalance (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, ...) makes the
 * transaction GOFKA_ERR_TXN_ABORTABLE. Blocks up to timeout_ms. */
int32_t gofka_producer_send_offsets_to_transaction(gofka_handle_t producer, const uint8_t *offsets,
                                                   size_t offsets_len, const char *group_metadata,
                                                   int32_t timeout_ms, gofka_error_t *err);

/*
 * Packed formats. All integers are little-endian.
 *
 *  headers:  int32 count, then per header:
 *              int32 key_len, key bytes (UTF-8),
 *              int32 value_len (-1 = null), value bytes
 *            in order; a key may repeat (Kafka allows it): every header is
 *            sent, and received ones keep their order and repeats.
 *
 *  records:  per record, back to back:
 *              int32 key_len (-1 = null), key bytes,
 *              int32 value_len (-1 = null), value bytes,
 *              int64 timestamp_ms (-1 = now; below -1 is INVALID_ARGUMENT),
 *              int32 headers_len, then that many bytes in the headers format
 *              (0 = no headers)
 */

/* ---------------------------------------------------------------------- */
/* Consumer                                                                */
/* ---------------------------------------------------------------------- */

/*
 * A consumer reads records either as a member of a consumer group
 * (gofka_consumer_subscribe: group.id, group.protocol classic or consumer
 * (KIP-848), partition.assignment.strategy, session.timeout.ms,
 * heartbeat.interval.ms, max.poll.interval.ms, group.instance.id) or from
 * partitions it is given (gofka_consumer_assign). The engine works in the
 * background: one fetcher per broker prefetches into a buffer bounded in
 * bytes by queued.max.messages.kbytes (default 4 MiB, fetches in flight
 * included); heartbeats, rebalances and auto-commits
 * (enable.auto.commit, auto.commit.interval.ms) never need poll. Poll only
 * takes what is buffered, in one call, as one packed buffer.
 *
 * Positions: a new partition starts at the group's committed offset, else
 * at auto.offset.reset (earliest, latest, or none: poll then fails once
 * with NO_OFFSET (-115) until the partition is sought). An out-of-range
 * position is reset the same way (none: OFFSET_OUT_OF_RANGE (1)).
 *
 * Commits: offsets are "the next offset to read". Committing a partition
 * not assigned to the consumer (e.g. revoked by a rebalance) is
 * NOT_ASSIGNED (-116, a group error) and commits nothing. With auto-commit
 * the engine commits every auto.commit.interval.ms the positions of the
 * records returned by all but the latest poll (at-least-once), those
 * positions again before partitions are revoked, and everything returned
 * on close.
 *
 * Rebalance events: poll returns them, in order, before that call's
 * records. With rebalance.callbacks=true the engine, before revoking,
 * waits (up to max.poll.interval.ms, heartbeating meanwhile) until the
 * application polls again after receiving the event, so the application
 * can commit in its handler; the next poll (or close) acknowledges every
 * event returned by the previous one.
 *
 * Packed formats (little-endian):
 *
 *  partitions:  int32 count, then per partition:
 *                 int32 topic_len, topic bytes (UTF-8), int32 partition
 *
 *  offsets:     int32 count, then per entry:
 *                 int32 topic_len, topic bytes, int32 partition,
 *                 int64 offset, int64 timestamp_ms (-1 when not applicable)
 *
 *  messages:    int32 message_count, int32 event_count, int32 topic_count,
 *               then topic_count topics: int32 name_len, name bytes
 *                 (the topic table; messages and events refer to topics by
 *                 their index in it),
 *               then event_count rebalance events:
 *                 int32 kind (1 assigned, 2 revoked, 3 lost), int32 n,
 *                 n times: int32 topic_index, int32 partition,
 *               then message_count 48-byte message heads, back to back:
 *                 int32 topic_index, int32 partition, int64 offset,
 *                 int64 timestamp_ms (from the record),
 *                 int32 key_start, int32 key_end,
 *                 int32 value_start, int32 value_end,
 *                 int32 headers_start, int32 headers_end
 *               then the data region the heads point into. Each start/end
 *               pair is a byte range [start, end) of the whole buffer;
 *               -1/-1 means a null key or value, or no headers (headers are
 *               in the headers format above). Heads first and absolute
 *               ranges let a binding decode the heads in one call (Python:
 *               struct.iter_unpack) and slice each field directly.
 */

/* Special offsets for gofka_consumer_seek. */
#define GOFKA_OFFSET_BEGINNING (-2)
#define GOFKA_OFFSET_END       (-1)

/* Rebalance event kinds of the messages format. */
#define GOFKA_REBALANCE_ASSIGNED 1
#define GOFKA_REBALANCE_REVOKED  2
#define GOFKA_REBALANCE_LOST     3

/* Creates a consumer from a configuration string (see the top of this
 * file; consumer keys include group.id, auto.offset.reset,
 * enable.auto.commit, isolation.level, fetch.min.bytes, fetch.max.bytes,
 * max.partition.fetch.bytes, queued.max.messages.kbytes, fetch.max.wait.ms,
 * max.poll.records, rebalance.callbacks). No network I/O. Released by gofka_consumer_close. */
int32_t gofka_consumer_new(const char *config, gofka_handle_t *out, gofka_error_t *err);

/* Connects to the cluster (as gofka_producer_connect). Optional. */
int32_t gofka_consumer_connect(gofka_handle_t consumer, int32_t timeout_ms, gofka_error_t *err);

/* gofka_consumer_connect without blocking: one event tagged `token` (code
 * 0 and empty payload, or the error) is posted to queue when done. */
int32_t gofka_consumer_connect_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                     int32_t timeout_ms, gofka_error_t *err);

/* Joins the group subscribed to `topics` ('\n'-separated names; Kafka topic
 * names cannot contain '\n') or to every topic whose whole name matches the
 * regular expression `pattern` (exactly one of the two is not NULL), and
 * blocks until the first assignment arrives or timeout_ms passes. A group
 * that cannot be joined in time (coordinator unreachable, ...) gives a
 * group error, COORDINATOR_NOT_AVAILABLE (15) naming the last failure;
 * membership keeps being retried in the background. Needs group.id
 * (INVALID_GROUP_ID (24) otherwise); fails on a manually assigned
 * consumer. Calling it again replaces the subscription (the same topics or
 * pattern again only waits for the join: no rebalance). */
int32_t gofka_consumer_subscribe(gofka_handle_t consumer, const char *topics, const char *pattern,
                                 int32_t timeout_ms, gofka_error_t *err);

/* gofka_consumer_subscribe without blocking: one event tagged `token`
 * (code 0, empty payload, or the error) is posted to queue when done. */
int32_t gofka_consumer_subscribe_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                       const char *topics, const char *pattern, int32_t timeout_ms,
                                       gofka_error_t *err);

/* Leaves the group: revokes every partition (committing first with
 * auto-commit), sends the leave request (dynamic members) and clears the
 * subscription. Blocks up to timeout_ms. The revocation is the caller's own,
 * as in the Java client: no revoked event follows on a later poll, so a
 * program that handles rebalances does its revocation work (e.g. committing
 * what it processed, gofka_consumer_commit) before this call, while the
 * partitions are still assigned. */
int32_t gofka_consumer_unsubscribe(gofka_handle_t consumer, int32_t timeout_ms, gofka_error_t *err);

/* gofka_consumer_unsubscribe without blocking: one event tagged `token`
 * (code 0 and empty payload, or the error) when done. */
int32_t gofka_consumer_unsubscribe_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                         int32_t timeout_ms, gofka_error_t *err);

/* Takes up to max_messages buffered records and every pending rebalance
 * event, waiting up to timeout_ms (0 = do not wait) for at least one of
 * them. *buf_out (messages format, *len_out bytes; freed with gofka_free)
 * is NULL when nothing came before the timeout, which is not an error;
 * *count_out is the number of messages. An error the engine met since the
 * last poll (NO_OFFSET, OFFSET_OUT_OF_RANGE, a fatal group error such as
 * FENCED_INSTANCE_ID (82), GOFKA_ERR_ALL_BROKERS_DOWN once per outage when
 * no broker has been reachable for connect.timeout.ms, ...) is returned
 * once, with nothing taken; a closed shared pool is GOFKA_ERR_CLIENT_CLOSED
 * on every call. Calls
 * the application makes should wait in short slices (e.g. 200 ms) so that
 * it stays interruptible: the consumer keeps state between calls. */
int32_t gofka_consumer_poll(gofka_handle_t consumer, int32_t max_messages, int32_t timeout_ms,
                            uint8_t **buf_out, size_t *len_out, int32_t *count_out, gofka_error_t *err);

/* gofka_consumer_poll without blocking: one event tagged `token` is posted
 * to queue after at most timeout_ms: code 0, offset = the number of
 * messages, payload = the messages buffer (empty when nothing came), or
 * the error. */
int32_t gofka_consumer_poll_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                  int32_t max_messages, int32_t timeout_ms, gofka_error_t *err);

/* Commits offsets and blocks until the coordinator accepted them (up to
 * timeout_ms). `offsets` (offsets format, timestamps ignored; NULL/0 for
 * none) are committed as given; with all != 0 the consumed position (the
 * offset after the last record polled) of every other assigned partition
 * is committed too. Every listed partition must be assigned (NOT_ASSIGNED
 * otherwise, and nothing is committed). During a rebalance the commit
 * waits for it and then commits the partitions still assigned.
 * Thread-safe: calls made while a commit request is in flight share the
 * next request, which carries per partition the latest call's offset (in
 * call order, even a lower one); each call returns once a request carrying
 * its offsets (or later ones of the same partitions) succeeded, or with
 * the error of its own partitions. TIMED_OUT means the offsets may still
 * be committed. See docs/api.md, "Commits". */
int32_t gofka_consumer_commit(gofka_handle_t consumer, const uint8_t *offsets, size_t offsets_len,
                              int32_t all, int32_t timeout_ms, gofka_error_t *err);

/* gofka_consumer_commit without blocking: one event tagged `token` (code
 * 0 and empty payload, or the error) when done, with the outcome and
 * coalescing of gofka_consumer_commit. With no commit in flight the
 * request is written before the call returns and the engine thread that
 * reads the response posts the event (no thread waits per commit); the
 * event may be posted before the call returns (nothing to commit, or a
 * very fast broker). */
int32_t gofka_consumer_commit_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                    const uint8_t *offsets, size_t offsets_len, int32_t all,
                                    int32_t timeout_ms, gofka_error_t *err);

/* Replaces the consumer's partitions with `partitions` (partitions format;
 * NULL/0 or count 0 unassigns everything), outside any group. Each new
 * partition starts at its committed offset when group.id is set, else at
 * auto.offset.reset. Fails while subscribed. Never blocks. */
int32_t gofka_consumer_assign(gofka_handle_t consumer, const uint8_t *partitions, size_t partitions_len,
                              gofka_error_t *err);

/* The current assignment (partitions format, sorted) in *buf_out, freed
 * with gofka_free. Never blocks. */
int32_t gofka_consumer_assignment(gofka_handle_t consumer, uint8_t **buf_out, size_t *len_out,
                                  gofka_error_t *err);

/* Moves the positions of assigned partitions (offsets format; offset
 * GOFKA_OFFSET_BEGINNING / GOFKA_OFFSET_END for the earliest / latest
 * offset, timestamps ignored). Buffered records of those partitions are
 * dropped. NOT_ASSIGNED for a partition not assigned (entries before it
 * were applied). Never blocks. */
int32_t gofka_consumer_seek(gofka_handle_t consumer, const uint8_t *offsets, size_t offsets_len,
                            gofka_error_t *err);

/* The position (next offset poll returns) of each of `partitions`, as an
 * offsets buffer in the same order, waiting up to timeout_ms while
 * positions are being looked up. NOT_ASSIGNED for a partition not assigned;
 * NO_OFFSET for one stuck without a position (auto.offset.reset=none). */
int32_t gofka_consumer_position(gofka_handle_t consumer, const uint8_t *partitions, size_t partitions_len,
                                int32_t timeout_ms, uint8_t **buf_out, size_t *len_out, gofka_error_t *err);

/* The group's committed offsets of `partitions` (assigned or not), as an
 * offsets buffer in the same order (offset -1 when none). Blocks up to
 * timeout_ms. */
int32_t gofka_consumer_committed(gofka_handle_t consumer, const uint8_t *partitions, size_t partitions_len,
                                 int32_t timeout_ms, uint8_t **buf_out, size_t *len_out, gofka_error_t *err);

/* The consumer's group membership now (group id, generation, member id,
 * group.instance.id) for gofka_producer_send_offsets_to_transaction, as a
 * NUL-terminated string (JSON today; treat it as opaque and pass it back
 * unchanged). *out is malloc'ed: free it with gofka_free; *len_out (may be
 * NULL) gets its length without the NUL. Never blocks. A consumer without
 * group.id is GOFKA_ERR_INVALID_ARGUMENT. Thread-safe. */
int32_t gofka_consumer_group_metadata(gofka_handle_t consumer, char **out, size_t *len_out, gofka_error_t *err);

/* gofka_consumer_committed without blocking: the event's payload is the
 * offsets buffer. */
int32_t gofka_consumer_committed_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                       const uint8_t *partitions, size_t partitions_len, int32_t timeout_ms,
                                       gofka_error_t *err);

/* Stops fetching `partitions` (partitions format) and returning their
 * records until gofka_consumer_resume; buffered records are kept.
 * NOT_ASSIGNED (and nothing paused) if one is not assigned. */
int32_t gofka_consumer_pause(gofka_handle_t consumer, const uint8_t *partitions, size_t partitions_len,
                             gofka_error_t *err);

/* Undoes gofka_consumer_pause. */
int32_t gofka_consumer_resume(gofka_handle_t consumer, const uint8_t *partitions, size_t partitions_len,
                              gofka_error_t *err);

/* For each entry of `times` (offsets format: the timestamp_ms field is the
 * time to look up, ms since the epoch; the offset field is ignored), the
 * earliest offset whose record timestamp is at or after it and that
 * record's timestamp, as an offsets buffer in the same order (offset and
 * timestamp -1 when no record is that recent). Blocks up to timeout_ms. */
int32_t gofka_consumer_offsets_for_times(gofka_handle_t consumer, const uint8_t *times, size_t times_len,
                                         int32_t timeout_ms, uint8_t **buf_out, size_t *len_out,
                                         gofka_error_t *err);

/* gofka_consumer_offsets_for_times without blocking: the event's payload is
 * the offsets buffer. */
int32_t gofka_consumer_offsets_for_times_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                               const uint8_t *times, size_t times_len, int32_t timeout_ms,
                                               gofka_error_t *err);

/* Closes the consumer and destroys the handle: commits everything polled
 * (with auto-commit), leaves the group (a static member, group.instance.id,
 * keeps its place until its session expires), stops the engine, all
 * within timeout_ms. Polls waiting meanwhile fail with
 * GOFKA_ERR_CLIENT_CLOSED. The handle is invalid afterwards, even when an
 * error is returned. */
int32_t gofka_consumer_close(gofka_handle_t consumer, int32_t timeout_ms, gofka_error_t *err);

/* gofka_consumer_close without blocking: the handle is destroyed at once;
 * one event tagged `token` (code 0, or the close error) is posted when the
 * consumer has closed. */
int32_t gofka_consumer_close_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                   int32_t timeout_ms, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Share consumer                                                          */
/* ---------------------------------------------------------------------- */

/*
 * A share consumer is a member of a share group (KIP-932, "queues for
 * Kafka", Apache Kafka 4.2+; docs/share-groups.md): the members of a group
 * read the same partitions together, the broker handing each record to one
 * member at a time under an acquisition lock
 * (group.share.record.lock.duration.ms, 30 s by default). Each record is
 * acknowledged: accept (done), release (delivered again, to any member,
 * with its delivery count + 1) or reject (archived, never delivered again).
 *
 * share.acknowledgement.mode:
 *   implicit (default): the next poll, commit or close accepts every record
 *     of the previous poll; gofka_share_consumer_acknowledge is
 *     INVALID_ARGUMENT.
 *   explicit: acknowledge every record; a poll while a record of the
 *     previous poll is unacknowledged is INVALID_ARGUMENT.
 * Acknowledgements travel with the next poll, or at once with
 * gofka_share_consumer_commit, which returns their outcome.
 * Records are fetched ahead: a poll that empties the engine's buffer sends
 * the next share fetch before returning (at most one per broker, for at
 * most max_messages records), and the next poll returns its records;
 * their acquisition locks run meanwhile (docs/share-groups.md, "Fetching
 * ahead").
 *
 * Thread-safety: every function may be called from any thread; polls,
 * commits and close run one at a time (the engine serialises them: share
 * sessions need their requests in order), acknowledge runs alongside them.
 *
 * Packed formats (little-endian):
 *
 *  share messages: the messages format of the consumer (event_count is
 *               always 0), then message_count int32 delivery counts (1 the
 *               first time a record is delivered), in message order: the
 *               last 4 * message_count bytes of the buffer.
 *
 *  ack results: int32 count, then per acknowledgement:
 *                 int32 topic_len, topic bytes, int32 partition,
 *                 int64 offset, int32 type (GOFKA_ACK_*), int32 code
 *                 (0: applied; e.g. INVALID_RECORD_STATE (121) when the
 *                 record's lock had ended, or a share session error: the
 *                 broker delivers the record again either way)
 */

/* Acknowledgement types (KIP-932). */
#define GOFKA_ACK_ACCEPT  1
#define GOFKA_ACK_RELEASE 2
#define GOFKA_ACK_REJECT  3

/* Creates a share consumer from a configuration string (see the top of
 * this file). group.id is required (the share group);
 * share.acknowledgement.mode, max.poll.records and the fetch settings
 * apply. No network I/O. Released by gofka_share_consumer_close. */
int32_t gofka_share_consumer_new(const char *config, gofka_handle_t *out, gofka_error_t *err);

/* Sets the topics read (`topics`: '\n'-separated names, at least one),
 * replacing the previous subscription, and starts the membership, which
 * runs in the background until close. Never blocks; the group is joined
 * by the background heartbeat (polls return nothing until then). */
int32_t gofka_share_consumer_subscribe(gofka_handle_t consumer, const char *topics, gofka_error_t *err);

/* Returns up to max_messages (> 0) records, waiting up to timeout_ms (the
 * bound of the whole call; 0 = what is already acquired) until some
 * arrive. Records already acquired come first. The queued
 * acknowledgements (implicit mode: the previous poll's records, accepted)
 * go with the next share fetch, or alone while records are buffered.
 * *buf_out (share messages format, *len_out bytes, freed with gofka_free)
 * is NULL when nothing came before the timeout, which is not an error;
 * *count_out is the number of records. Explicit mode with a record of the previous poll unacknowledged:
 * INVALID_ARGUMENT, nothing taken. Before subscribe: INVALID_ARGUMENT.
 * Errors that end the membership (authorization, an unsupported broker)
 * are returned by every poll. */
int32_t gofka_share_consumer_poll(gofka_handle_t consumer, int32_t max_messages, int32_t timeout_ms,
                                  uint8_t **buf_out, size_t *len_out, int32_t *count_out, gofka_error_t *err);

/* gofka_share_consumer_poll without blocking: one event tagged `token`
 * with the share messages buffer as payload (empty when nothing came) and
 * the record count in its offset field, or the error. */
int32_t gofka_share_consumer_poll_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                        int32_t max_messages, int32_t timeout_ms, gofka_error_t *err);

/* Queues the acknowledgement of the record at `offset` of topic/partition
 * that a poll returned (explicit mode), as `type` (GOFKA_ACK_*); it is
 * sent with the next poll, commit or close. Never blocks. A record is
 * acknowledged once: a second time, a record this consumer did not deliver,
 * another type, or the implicit mode is INVALID_ARGUMENT; after close,
 * CLIENT_CLOSED. */
int32_t gofka_share_consumer_acknowledge(gofka_handle_t consumer, const char *topic, int32_t partition,
                                         int64_t offset, int32_t type, gofka_error_t *err);

/* Sends the queued acknowledgements now (implicit mode: after accepting
 * the last poll's records) and blocks up to timeout_ms (negative:
 * request.timeout.ms) for their outcome: *buf_out (ack results format,
 * *len_out bytes, freed with gofka_free; count 0 when nothing was queued).
 * When the brokers do not answer in time: TIMED_OUT and no buffer (the
 * broker still applies what was sent; those outcomes are not reported). */
int32_t gofka_share_consumer_commit(gofka_handle_t consumer, int32_t timeout_ms, uint8_t **buf_out,
                                    size_t *len_out, gofka_error_t *err);

/* gofka_share_consumer_commit without blocking: one event tagged `token`
 * with the ack results buffer as payload and their count in its offset
 * field, or the error. */
int32_t gofka_share_consumer_commit_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                          int32_t timeout_ms, gofka_error_t *err);

/* Closes the share consumer and destroys the handle (also when it fails):
 * sends the queued acknowledgements (implicit mode: accepting the last
 * poll's records; records delivered but unacknowledged in the explicit
 * mode, and records acquired but not returned yet, are released for the
 * other members), closes the share sessions and leaves the group. Blocks
 * up to timeout_ms (negative: request.timeout.ms) for all of it. */
int32_t gofka_share_consumer_close(gofka_handle_t consumer, int32_t timeout_ms, gofka_error_t *err);

/* gofka_share_consumer_close without blocking: the handle is destroyed at
 * once; one event tagged `token` (code 0, or the close error) is posted
 * when the consumer has closed. */
int32_t gofka_share_consumer_close_async(gofka_handle_t consumer, gofka_handle_t queue, uint64_t token,
                                         int32_t timeout_ms, gofka_error_t *err);

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

/* Runs one admin operation: one entry point for all of them, with JSON
 * arguments and a JSON result (UTF-8). `op` names the operation,
 * `args_json` is a JSON object of its arguments (NULL or "" = {}; an
 * unknown argument is GOFKA_ERR_INVALID_ARGUMENT). Blocks up to timeout_ms
 * (negative = request.timeout.ms); *json_out (freed with gofka_free)
 * receives the result. Retriable failures are retried per the retry.*
 * properties. Operations that change the cluster return once the change
 * is visible in the cluster metadata.
 *
 *  op                   args                                       result
 *  cluster_metadata     {"topics": [str] | null (all)}             {"cluster_id", "controller_id",
 *                                                                   "brokers": [broker], "topics": [topic]}
 *  describe_cluster     {}                                         same shape, "topics": []
 *  list_brokers         {}                                         [broker]
 *  list_topics          {"include_internal": bool}                 [str], sorted
 *  describe_topic       {"topic": str}                             topic + {"configs": {name: config}}
 *  partition_count      {"topic": str}                             int
 *  topic_leaders        {"topic": str}                             {"<partition>": "host:port" | ""}
 *  create_topics        {"topics": [{"name", "num_partitions", "replication_factor",
 *                         "configs": {str: str}, "assignments": {"<partition>": [node]}}],
 *                        "validate_only": bool}                    null
 *  delete_topics        {"topics": [str]}                          null
 *  create_partitions    {"totals": {topic: int}, "validate_only"}  null
 *  describe_configs     {"resource_type": "topic" | "broker" | "broker_logger" | "group" |
 *                        "client_metrics", "name": str, "keys": [str] | null}
 *                                                                  {name: config}
 *  alter_configs        {"resource_type", "name", "ops": [{"name", "op": "set" | "delete" |
 *                        "append" | "subtract", "value": str}], "validate_only"}   null
 *  list_groups          {"types": [str] | null (all)}              [{"group_id", "protocol_type", "state", "type"}];
 *                        types: "classic", "consumer", "share", "streams" (needs ListGroups v5, else
 *                        GOFKA_ERR_UNSUPPORTED_VERSION_LOCAL)
 *  describe_groups      {"groups": [str]}                          [{"group_id", "state", "type", "protocol_type",
 *                                                                    "protocol", "coordinator": broker, "members":
 *                                                                    [{"member_id", "group_instance_id", "client_id",
 *                                                                      "client_host", "assignment": {topic: [int]}}]}]
 *  delete_groups        {"groups": [str]}                          null (share groups too)
 *  list_group_offsets   {"group", "partitions": [{"topic", "partition"}] | null}
 *                                                                  [offset]
 *  alter_group_offsets  {"group", "offsets": [offset]}             null
 *  delete_group_offsets {"group", "topic", "partitions": [int] | null (all)}   null
 *  describe_share_groups {"groups": [str]}                         [{"group_id", "state", "group_epoch",
 *                                                                    "assignment_epoch", "assignor", "coordinator":
 *                                                                    broker, "members": [{"member_id", "rack_id"
 *                                                                    (null = none), "client_id", "client_host",
 *                                                                    "member_epoch", "subscribed_topics": [str],
 *                                                                    "assignment": {topic: [int]}}]}];
 *                                                                  not a share group: GROUP_ID_NOT_FOUND
 *  list_share_group_offsets {"group", "partitions": [{"topic", "partition"}] | null (all with state)}
 *                                                                  [{"topic", "partition", "start_offset" (-1 =
 *                                                                    no state), "leader_epoch", "lag" (-1 =
 *                                                                    unknown: brokers before Kafka 4.2)}]
 *  alter_share_group_offsets {"group", "offsets": [{"topic", "partition", "start_offset"}]}   null;
 *                        the group must have no members (NON_EMPTY_GROUP)
 *  delete_share_group_offsets {"group", "topics": [str]}           null; every partition of each topic;
 *                        the group must have no members (NON_EMPTY_GROUP)
 *  list_offsets         {"topic", "partitions": [int] | null, "spec": int}
 *                        spec: -2 earliest, -1 latest, -3 max timestamp, >= 0 a timestamp (ms)
 *                                                                  {"<partition>": {"offset", "timestamp", "leader_epoch"}}
 *  delete_records       {"topic", "before": {"<partition>": offset (-1 = high watermark)}}
 *                                                                  {"<partition>": new low watermark}
 *  consumer_lag         {"group": str}                             [{"topic", "partition", "committed_offset",
 *                                                                    "log_end_offset", "lag"}]
 *  describe_user_scram_credentials {"users": [str] | null (all)}   {user: [{"mechanism", "iterations"}]};
 *                                                                  a named user without credentials is
 *                                                                  RESOURCE_NOT_FOUND
 *  alter_user_scram_credentials {"upsertions": [{"user", "mechanism": "SCRAM-SHA-256" | "SCRAM-SHA-512",
 *                        "password", "iterations" (0 = 4096; 4096..16384), "salt" (base64, null =
 *                        random)}], "deletions": [{"user", "mechanism"}]}   null; the client salts
 *                        and hashes the password, which is never sent; returns once every broker
 *                        shows the change
 *
 *  broker    = {"id", "host", "port", "rack" ("" = none)}
 *  topic     = {"name", "topic_id", "internal", "error_code", "error" ("" = none), "partitions":
 *               [{"partition", "leader" (-1 = none), "leader_addr", "leader_epoch", "replicas",
 *                 "isr", "offline_replicas", "error_code", "error"}]}
 *  config    = {"value" (null when sensitive), "source", "is_default", "read_only", "sensitive"}
 *  offset    = {"topic", "partition", "offset", "metadata", "leader_epoch"}
 */
int32_t gofka_admin_call(gofka_handle_t admin, const char *op, const char *args_json, int32_t timeout_ms,
                         char **json_out, size_t *len_out, gofka_error_t *err);

/* gofka_admin_call without blocking: validates the handles, `op` and the
 * JSON syntax of args_json at once (returning the error), then runs the
 * operation and posts one event tagged `token` to `queue` whose payload is
 * the JSON result (see Event queues). */
int32_t gofka_admin_call_async(gofka_handle_t admin, gofka_handle_t queue, uint64_t token, const char *op,
                               const char *args_json, int32_t timeout_ms, gofka_error_t *err);

/* Closes the admin client and destroys the handle. Operations still
 * running fail with GOFKA_ERR_CLIENT_CLOSED. */
int32_t gofka_admin_close(gofka_handle_t admin, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Statistics                                                              */
/* ---------------------------------------------------------------------- */
/*
 * A snapshot of a client's statistics as one JSON object: counters since
 * the client was created, buffer use, per broker (connection state,
 * requests in flight, round-trip time avg/p99, bytes and requests sent and
 * received, errors, reconnects) and, for producers and consumers, per
 * partition. Every field is described in docs/statistics.md (generated
 * from the engine's Go types, whose JSON names these are). Objects always
 * have every field; "brokers" and "partitions" are arrays, possibly empty.
 *
 * *json_out (NUL-terminated, *len_out bytes without the NUL; len_out may
 * be NULL) is freed by the caller with gofka_free. A snapshot reads
 * counters and takes the client's locks briefly: it never blocks on the
 * network. Thread-safe. A closed, unknown or wrong-kind handle gives
 * GOFKA_ERR_INVALID_HANDLE, as for every call. There is no
 * periodic callback in C (the library never calls the caller's code):
 * call these on a timer of your own.
 *
 * gofka_producer_stats: the producer's statistics, with per partition the
 * queue depth (records, bytes, batches), batches, records and bytes sent
 * and retries.
 */
int32_t gofka_producer_stats(gofka_handle_t producer, char **json_out, size_t *len_out, gofka_error_t *err);

/* The consumer's statistics (see above): also per assigned partition the
 * fetch position, position, committed offset, high watermark, lag and
 * prefetched records and bytes. */
int32_t gofka_consumer_stats(gofka_handle_t consumer, char **json_out, size_t *len_out, gofka_error_t *err);

/* The admin client's statistics (see above): per broker only. */
int32_t gofka_admin_stats(gofka_handle_t admin, char **json_out, size_t *len_out, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Connection pools                                                        */
/* ---------------------------------------------------------------------- */
/*
 * A pool owns broker connections. Clients created with the configuration
 * key connection.pool=<id> (gofka_pool_id) share its connections: one per
 * broker address whatever the number of clients, each request still
 * carrying its own client's client.id. Connections can also be leased
 * exclusively ("get"/"release" below). The pool never has more than
 * connections.max connections open; when full, it closes an idle one to
 * make room or waits (up to connect.timeout.ms) for one to be released.
 * Connections unused for connections.max.idle.ms are closed.
 */

/* Creates a pool from a configuration string: connections.max (0 = no
 * limit), connections.max.idle.ms (0 = never), connect.timeout.ms (dial
 * and wait bound), client.id and the security.* / ssl.* keys used to dial.
 * No network I/O. Released by gofka_pool_close. */
int32_t gofka_pool_new(const char *config, gofka_handle_t *out, gofka_error_t *err);

/* The pool's id, the value of connection.pool for clients that share it
 * (valid until gofka_pool_close). Never blocks. */
int32_t gofka_pool_id(gofka_handle_t pool, uint64_t *id_out, gofka_error_t *err);

/* Runs one pool operation (JSON in, JSON out, as gofka_admin_call).
 * timeout_ms negative = connect.timeout.ms.
 *
 *  op            args                              result
 *  get           {"host": str, "port": int}        conn_info: leases a connection (dials or
 *                                                  waits for a free slot)
 *  release       {"conn": id, "discard": bool}     null; a connection not leased from this
 *                                                  pool (or released twice) is INVALID_ARGUMENT
 *  conn_info     {"conn": id}                      conn_info
 *  api_versions  {"conn": id}                      {api_name: [min, max]} from an ApiVersions
 *                                                  request sent on that connection
 *  stats         {}                                {"open", "leased", "shared", "idle", "dials",
 *                                                   "reaped", "evicted", "waits", "max_open",
 *                                                   "limit", "idle_ms", "addresses"}
 *  close_all     {}                                null; closes every connection (leases end),
 *                                                  the pool stays usable
 *
 *  conn_info = {"conn": id, "addr": "host:port", "closed": bool,
 *               "api_versions": {api_name: [min, max]} (from the handshake)}
 */
int32_t gofka_pool_call(gofka_handle_t pool, const char *op, const char *args_json, int32_t timeout_ms,
                        char **json_out, size_t *len_out, gofka_error_t *err);

/* gofka_pool_call without blocking; the result is the payload of one event
 * tagged `token` posted to `queue`. */
int32_t gofka_pool_call_async(gofka_handle_t pool, gofka_handle_t queue, uint64_t token, const char *op,
                              const char *args_json, int32_t timeout_ms, gofka_error_t *err);

/* Closes every connection and the pool, and destroys the handle. Clients
 * sharing it fail with GOFKA_ERR_CLIENT_CLOSED afterwards, at once: a
 * producer's buffered records complete with it, a consumer poll (a waiting
 * one included) returns it, and so do later sends and admin calls. */
int32_t gofka_pool_close(gofka_handle_t pool, gofka_error_t *err);

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
 *             message followed, when the error names the broker
 *             involved, by a NUL byte and that broker ("host:port").
 */

/* Creates an event queue. Released by gofka_queue_close. */
int32_t gofka_queue_new(gofka_handle_t *out, gofka_error_t *err);

/* The queue's readable-when-non-empty file descriptor. Owned by the queue:
 * do not read, write or close it; it stays valid until gofka_queue_close. */
int32_t gofka_queue_fd(gofka_handle_t queue, int32_t *fd_out, gofka_error_t *err);

/* The queue's ready flag: *flag_out receives the address of a 32-bit word
 * that is nonzero while the queue holds events and 0 otherwise (what the
 * fd's readability signals, without its stray wake-ups; it is set just
 * before the fd turns readable), so that a caller can ask
 * "is anything due?" with one memory load instead of a system call (e.g. a
 * poll(0) called after every produced record). Read it with an atomic
 * load (acquire, e.g. __atomic_load_n(flag, __ATOMIC_ACQUIRE)); a nonzero
 * value is then followed by gofka_queue_drain to take the events (which
 * another thread may have taken meanwhile). Owned and written by the
 * queue: never write it; it stays valid until gofka_queue_close (which
 * frees it: stop reading it before closing the queue). */
int32_t gofka_queue_ready_flag(gofka_handle_t queue, const int32_t **flag_out, gofka_error_t *err);

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

/* ---------------------------------------------------------------------- */
/* Security (docs/security.md)                                             */
/* ---------------------------------------------------------------------- */
/* TLS and SASL are configured with config keys: security.protocol
 * (PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL), ssl.ca.location,
 * ssl.certificate.location, ssl.key.location, ssl.key.password,
 * ssl.endpoint.identification.algorithm, sasl.mechanism (PLAIN |
 * SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER), sasl.username,
 * sasl.password, sasl.oauthbearer.token, sasl.oauthbearer.extensions.
 * Values must not contain newlines. Secrets never appear in error
 * messages or log lines. A refused TLS session is TLS_FAILED (-117), a
 * refused login SASL_AUTHENTICATION_FAILED (58) & co: not retriable, and
 * the broker is not redialed for 1-10 s after such a failure.
 * SCRAM users are managed with gofka_admin_call ops
 * describe_user_scram_credentials and alter_user_scram_credentials. */

/* Replaces the OAUTHBEARER token (NUL-terminated, RFC 6750 b64token
 * syntax, e.g. a JWT) that new connections of a client configured with
 * sasl.mechanism=OAUTHBEARER and sasl.oauthbearer.token authenticate with.
 * Call it before the current token expires; connections already made keep
 * their session. `client` is a producer, consumer, admin or pool handle
 * (for a client on a shared pool, the pool's token changes). Does no I/O;
 * thread-safe. A client not configured with sasl.oauthbearer.token, or a
 * malformed token, is GOFKA_ERR_INVALID_ARGUMENT (the message never
 * quotes the token). */
int32_t gofka_oauth_token_set(gofka_handle_t client, const char *token, gofka_error_t *err);

/* ---------------------------------------------------------------------- */
/* Diagnostics                                                             */
/* ---------------------------------------------------------------------- */

/* Runtime figures of the library, for leak checks and debugging, as a JSON
 * object: {"goroutines":int, "handles":int (live handles of every kind),
 * "handles_by_kind":{"producer":int,...} (kinds with live handles only),
 * "heap_alloc_bytes":int, "heap_objects":int, "heap_sys_bytes":int,
 * "heap_inuse_bytes":int, "heap_released_bytes":int (given back to the OS:
 * in heap_sys_bytes, not in the RSS), "next_gc_bytes":int (the heap size
 * that triggers the next collection), "stack_sys_bytes":int,
 * "total_alloc_bytes":int (allocated since the library was loaded,
 * cumulative), "sys_bytes":int (memory the Go runtime took from the OS),
 * "num_gc":int, "cgo_calls":int, "gc_percent":int (the collector's pace,
 * GOGC: 50 or 100 as the library sets it, see docs/configuration.md,
 * "Memory"; -1 when collection is off)}. With gc non-zero a garbage collection runs first and
 * the freed memory is returned to the OS, so the heap figures (and the
 * process's RSS) count live memory only (that pauses the library
 * briefly); otherwise it never blocks. *json_out is freed with gofka_free.
 * Thread-safe. */
int32_t gofka_debug_stats(int32_t gc, char **json_out, size_t *len_out, gofka_error_t *err);

#endif /* GOFKA_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* GOFKA_H */
