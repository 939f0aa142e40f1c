/*
 * test_gofka.c - C tests of libgofka through include/gofka.h.
 *
 * They link the real library and run against GOFKA_BROKERS when it is set
 * (a real Apache Kafka in `make test`), else against a dev cluster started
 * through the C API. Besides the normal paths they misuse the API on
 * purpose (NULL pointers, destroyed and wrong-kind handles, wrong sizes,
 * truncated packed buffers) and expect error codes, never a crash.
 *
 * Build and run: make test-c. The last line is "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------------------ */
/* Harness                                                                   */
/* ------------------------------------------------------------------------ */


/* A producer/admin configuration for the cluster under test. */
static void config_for(char *buf, size_t size, const char *extra) {
    snprintf(buf, size, "bootstrap.servers=%s\nclient.id=gofka-c-tests\n%s", harness_brokers(), extra ? extra : "");
}

static gofka_handle_t new_producer(void) {
    char cfg[1400];
    gofka_handle_t p = 0;
    gofka_error_t err;
    config_for(cfg, sizeof cfg, NULL);
    if (gofka_producer_new(cfg, &p, &err) != GOFKA_OK) {
        fprintf(stderr, "  gofka_producer_new: %s: %s\n", err.name, err.message);
        return 0;
    }
    return p;
}

/* Little-endian packing of the formats in gofka.h. */
typedef struct {
    uint8_t data[4096];
    size_t len;
} packbuf;

static void put_i32(packbuf *b, int32_t v) {
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++) b->data[b->len++] = (uint8_t)(u >> (8 * i));
}

static void put_i64(packbuf *b, int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) b->data[b->len++] = (uint8_t)(u >> (8 * i));
}

static void put_bytes(packbuf *b, const char *s, int32_t n) {
    put_i32(b, n);
    if (n > 0) {
        memcpy(b->data + b->len, s, (size_t)n);
        b->len += (size_t)n;
    }
}

/* One record of the records format: key (NULL = null), value, no headers. */
static void put_record(packbuf *b, const char *key, const char *value, int64_t ts) {
    put_bytes(b, key, key ? (int32_t)strlen(key) : -1);
    put_bytes(b, value, value ? (int32_t)strlen(value) : -1);
    put_i64(b, ts);
    put_i32(b, 0);
}

static int contains(const char *haystack, const char *needle) {
    return haystack && strstr(haystack, needle) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Library                                                                   */
/* ------------------------------------------------------------------------ */

static void test_version_and_abi(void) {
    const char *v = gofka_version();
    int major = -1, minor = -1, patch = -1;
    REQUIRE(v != NULL);
    CHECK(sscanf(v, "%d.%d.%d", &major, &minor, &patch) == 3);
    CHECK(gofka_abi_version() == GOFKA_ABI_VERSION);
    CHECK(gofka_version() == v); /* static storage, stable */
}

static void test_error_table(void) {
    char *json = NULL;
    size_t len = 0;
    gofka_error_t err;
    memset(&err, 0x55, sizeof err); /* garbage in: must be overwritten */
    REQUIRE_RC(GOFKA_OK, gofka_error_table(&json, &len, &err), &err);
    REQUIRE(json != NULL);
    CHECK(strlen(json) == len);
    CHECK(json[0] == '[' && json[len - 1] == ']');
    CHECK(contains(json, "\"INVALID_HANDLE\""));
    CHECK(contains(json, "\"NOT_LEADER_OR_FOLLOWER\""));
    CHECK(contains(json, "-102"));
    CHECK(err.code == 0 && err.name[0] == '\0' && err.message[0] == '\0');
    gofka_free(json);

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_error_table(NULL, &len, &err), &err);
    CHECK(contains(err.name, "INVALID_ARGUMENT"));
    /* err may be NULL: the code alone is returned */
    json = NULL;
    CHECK(gofka_error_table(&json, NULL, NULL) == GOFKA_OK);
    CHECK(json != NULL);
    gofka_free(json);
    gofka_free(NULL); /* ignored */
}

/* ------------------------------------------------------------------------ */
/* Configuration and handles                                                 */
/* ------------------------------------------------------------------------ */

static void test_debug_stats(void) {
    gofka_error_t err;
    char *json = NULL;
    size_t len = 0;
    gofka_handle_t q = 0;
    REQUIRE_RC(GOFKA_OK, gofka_queue_new(&q, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_debug_stats(1, &json, &len, &err), &err);
    REQUIRE(json != NULL);
    CHECK(strlen(json) == len);
    CHECK(contains(json, "\"goroutines\""));
    CHECK(contains(json, "\"event queue\""));
    gofka_free(json);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_debug_stats(0, NULL, &len, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_queue_close(q, &err), &err);
}

static void test_config_errors(void) {
    gofka_handle_t h = 0;
    gofka_error_t err;

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new(NULL, &h, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new("bootstrap.servers=127.0.0.1:9", NULL, &err), &err);
    CHECK(gofka_producer_new(NULL, &h, NULL) == GOFKA_ERR_INVALID_ARGUMENT); /* err NULL is fine */

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new("bootstrap.servers=127.0.0.1:9\nnot a pair\n", &h, &err), &err);
    CHECK(contains(err.message, "not a pair"));
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new("bootstrap.servers=127.0.0.1:9\nno.such.key=1", &h, &err), &err);
    CHECK(contains(err.message, "no.such.key"));
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new("acks=2\nbootstrap.servers=127.0.0.1:9", &h, &err), &err);
    CHECK(contains(err.message, "acks"));
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new("", &h, &err), &err); /* no brokers */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new("bootstrap.servers=nohostport", &h, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_new("request.timeout.ms=-5\nbootstrap.servers=127.0.0.1:9", &h, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_new(NULL, &h, &err), &err);

    /* comments and blank lines are ignored; creating does no network I/O */
    h = 0;
    REQUIRE_RC(GOFKA_OK, gofka_producer_new("# a comment\n\n  bootstrap.servers = 127.0.0.1:9 \n", &h, &err), &err);
    CHECK(h != 0);
    CHECK_RC(GOFKA_OK, gofka_producer_close(h, 1000, &err), &err);
}

static void test_invalid_handles(void) {
    gofka_error_t err;
    gofka_handle_t p = new_producer(), a = 0, q = 0;
    char cfg[1400];
    char *json = NULL;
    size_t len = 0;
    int64_t offset = 0;
    REQUIRE(p != 0);
    config_for(cfg, sizeof cfg, NULL);
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &a, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_queue_new(&q, &err), &err);
    CHECK(p != a && a != q && p != q);

    /* 0 and never-issued handles */
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_connect(0, 100, &err), &err);
    CHECK(strcmp(err.name, "INVALID_HANDLE") == 0);
    CHECK(err.retriable == 0);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_close(UINT64_MAX, 100, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_close(0, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_queue_close(987654321, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_devcluster_close(0, &err), &err);

    /* wrong kinds: every kind is checked, a handle never changes type */
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_list_topics(p, 0, 1000, &json, &len, &err), &err);
    CHECK(json == NULL);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_send(a, "t", 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 1000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_devcluster_brokers(q, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_queue_close(p, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_close(p, &err), &err);

    /* destroyed handles: every later call and a second close fail */
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_close(p, 1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_send(p, "t", 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 1000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_connect(p, 100, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_list_topics(a, 0, 1000, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_close(a, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_queue_close(q, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_queue_close(q, &err), &err);
}

/* ------------------------------------------------------------------------ */
/* Producer                                                                  */
/* ------------------------------------------------------------------------ */

static void test_send_misuse(void) {
    gofka_error_t err;
    int64_t offset = 123;
    char topic[96];
    packbuf h;
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "misuse");

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, NULL, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 5000, &offset, &err), &err);
    /* NULL buffers with a positive length */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, 4, (const uint8_t *)"v", 1, NULL, 0, -1, 5000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, NULL, 3, NULL, 0, -1, 5000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 8, -1, 5000, &offset, &err), &err);
    /* partition below -1 */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, -2, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 5000, &offset, &err), &err);

    /* truncated headers: says 1 header with a 10-byte key, holds 3 bytes */
    h.len = 0;
    put_i32(&h, 1);
    put_i32(&h, 10);
    memcpy(h.data + h.len, "abc", 3);
    h.len += 3;
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, h.data, h.len, -1, 5000, &offset, &err), &err);
    /* count 2, one header */
    h.len = 0;
    put_i32(&h, 2);
    put_bytes(&h, "k", 1);
    put_bytes(&h, "v", 1);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, h.data, h.len, -1, 5000, &offset, &err), &err);
    /* a right buffer passed with a wrong (shorter, longer) size */
    h.len = 0;
    put_i32(&h, 1);
    put_bytes(&h, "k", 1);
    put_bytes(&h, "v", 1);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, h.data, h.len - 1, -1, 5000, &offset, &err), &err);
    h.data[h.len] = 0;
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, h.data, h.len + 1, -1, 5000, &offset, &err), &err);
    /* negative header count */
    h.len = 0;
    put_i32(&h, -3);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, h.data, h.len, -1, 5000, &offset, &err), &err);
    CHECK(offset == 123); /* never written on failure */

    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);
}

static void test_batch_misuse(void) {
    gofka_error_t err;
    int64_t offsets[4] = {7, 7, 7, 7};
    char topic[96];
    packbuf b;
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "batch-misuse");

    b.len = 0;
    put_record(&b, NULL, "one", -1);
    put_record(&b, "k", "two", -1);

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, NULL, 0, b.data, b.len, 2, 5000, offsets, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, b.len, -1, 5000, offsets, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, b.len, 3, 5000, offsets, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, b.len, 1, 5000, offsets, &err), &err);
    CHECK(contains(err.message, "trailing"));
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, b.len - 1, 2, 5000, offsets, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, NULL, b.len, 2, 5000, offsets, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, 0, 1, 5000, offsets, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, -5, b.data, b.len, 2, 5000, offsets, &err), &err);

    /* a record whose headers_len runs past the buffer */
    b.len = 0;
    put_bytes(&b, NULL, -1);
    put_bytes(&b, "v", 1);
    put_i64(&b, -1);
    put_i32(&b, 1000);
    put_i32(&b, 1);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, b.len, 1, 5000, offsets, &err), &err);
    /* a value length larger than what follows */
    b.len = 0;
    put_bytes(&b, NULL, -1);
    put_i32(&b, 1 << 30);
    put_i64(&b, -1);
    put_i32(&b, 0);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_send_batch(p, topic, 0, b.data, b.len, 1, 5000, offsets, &err), &err);
    CHECK(offsets[0] == 7 && offsets[3] == 7);

    /* count 0 is an empty batch */
    CHECK_RC(GOFKA_OK, gofka_producer_send_batch(p, topic, 0, NULL, 0, 0, 5000, NULL, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);
}

static void test_produce_and_list(void) {
    gofka_error_t err;
    char topic[96];
    char *json = NULL;
    size_t len = 0;
    int64_t offset = -7;
    int64_t offsets[100];
    packbuf h, b;
    gofka_handle_t a = 0;
    char cfg[1400];
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "produce");

    REQUIRE_RC(GOFKA_OK, gofka_producer_connect(p, 15000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_connect(p, 15000, &err), &err); /* no-op when connected */

    h.len = 0;
    put_i32(&h, 2);
    put_bytes(&h, "trace", 5);
    put_bytes(&h, "abc", 3);
    put_bytes(&h, "empty", 5);
    put_bytes(&h, NULL, -1);
    REQUIRE_RC(GOFKA_OK,
               gofka_producer_send(p, topic, 0, (const uint8_t *)"key", 3, (const uint8_t *)"hello", 5, h.data,
                                   h.len, 1700000000000LL, 15000, &offset, &err),
               &err);
    CHECK(offset == 0);
    /* null key, null value (a tombstone), NULL offset_out */
    CHECK_RC(GOFKA_OK, gofka_producer_send(p, topic, 0, NULL, -1, NULL, -1, NULL, 0, -1, 15000, NULL, &err), &err);
    /* empty (not null) value */
    CHECK_RC(GOFKA_OK, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"", 0, NULL, 0, -1, 15000, &offset, &err), &err);
    CHECK(offset == 2);

    b.len = 0;
    for (int i = 0; i < 100; i++) {
        char v[32];
        snprintf(v, sizeof v, "value-%d", i);
        put_record(&b, (i % 2) ? v : NULL, v, -1);
        offsets[i] = -7;
    }
    REQUIRE_RC(GOFKA_OK, gofka_producer_send_batch(p, topic, 0, b.data, b.len, 100, 15000, offsets, &err), &err);
    for (int i = 0; i < 100; i++) CHECK(offsets[i] == 3 + i);

    config_for(cfg, sizeof cfg, NULL);
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &a, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_admin_list_topics(a, 0, 15000, &json, &len, &err), &err);
    REQUIRE(json != NULL);
    CHECK(strlen(json) == len);
    CHECK(json[0] == '[');
    CHECK(contains(json, topic));
    CHECK(!contains(json, "__consumer_offsets"));
    gofka_free(json);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_list_topics(a, 0, 15000, NULL, &len, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 15000, &err), &err);
}

static void test_unreachable_cluster(void) {
    gofka_error_t err;
    gofka_handle_t p = 0;
    int32_t rc;
    /* port 1 on loopback: connection refused */
    REQUIRE_RC(GOFKA_OK, gofka_producer_new("bootstrap.servers=127.0.0.1:1\nretries=0", &p, &err), &err);
    rc = gofka_producer_connect(p, 2000, &err);
    CHECK(rc == GOFKA_ERR_CONNECTION_FAILED || rc == GOFKA_ERR_NO_BROKERS || rc == GOFKA_ERR_TIMED_OUT);
    CHECK(err.code == rc);
    CHECK(err.retriable == 1);
    CHECK(contains(err.message, "127.0.0.1:1"));
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 1000, &err), &err);
}

/* Concurrent sends on one producer handle from several threads. */
#define THREADS 4
#define PER_THREAD 25

struct sender {
    gofka_handle_t producer;
    const char *topic;
    int64_t offsets[PER_THREAD];
    int errors;
};

static void *send_loop(void *arg) {
    struct sender *s = (struct sender *)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        gofka_error_t err;
        if (gofka_producer_send(s->producer, s->topic, 0, NULL, -1, (const uint8_t *)"x", 1, NULL, 0, -1, 15000,
                                &s->offsets[i], &err) != GOFKA_OK) {
            s->errors++;
            s->offsets[i] = -1;
        }
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_threads(void) {
    gofka_error_t err;
    char topic[96];
    pthread_t tids[THREADS];
    struct sender s[THREADS];
    int64_t all[THREADS * PER_THREAD];
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "threads");
    for (int t = 0; t < THREADS; t++) {
        s[t].producer = p;
        s[t].topic = topic;
        s[t].errors = 0;
        REQUIRE(pthread_create(&tids[t], NULL, send_loop, &s[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(tids[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        CHECK(s[t].errors == 0);
        memcpy(all + t * PER_THREAD, s[t].offsets, sizeof s[t].offsets);
    }
    qsort(all, THREADS * PER_THREAD, sizeof all[0], cmp_i64);
    for (int i = 0; i < THREADS * PER_THREAD; i++) CHECK(all[i] == i); /* each offset once */
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 15000, &err), &err);
}

/* ------------------------------------------------------------------------ */
/* Event queues and the dev cluster                                          */
/* ------------------------------------------------------------------------ */

static void test_queue(void) {
    gofka_error_t err;
    gofka_handle_t q = 0;
    int32_t fd = -1, count = -1;
    uint8_t *buf = (uint8_t *)&count; /* must be reset to NULL */
    size_t len = 99;
    REQUIRE_RC(GOFKA_OK, gofka_queue_new(&q, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_queue_new(NULL, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_queue_fd(q, &fd, &err), &err);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) != -1);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_queue_fd(q, NULL, &err), &err);
    {
        const int32_t *flag = NULL;
        REQUIRE_RC(GOFKA_OK, gofka_queue_ready_flag(q, &flag, &err), &err);
        CHECK(flag != NULL && __atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0); /* empty queue */
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_queue_ready_flag(q, NULL, &err), &err);
    }
    CHECK_RC(GOFKA_OK, gofka_queue_drain(q, 16, 0, &buf, &len, &count, &err), &err);
    CHECK(count == 0 && buf == NULL && len == 0);
    CHECK_RC(GOFKA_OK, gofka_queue_drain(q, 16, 50, &buf, &len, &count, &err), &err); /* waits, then empty */
    CHECK(count == 0 && buf == NULL);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_queue_drain(q, 16, 0, NULL, &len, &count, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_queue_drain(q, 16, 0, &buf, &len, NULL, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_queue_drain(q, 0, 0, &buf, &len, &count, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_queue_close(q, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_queue_fd(q, &fd, &err), &err);
    {
        const int32_t *flag = NULL;
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_queue_ready_flag(q, &flag, &err), &err);
    }
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_queue_drain(q, 16, 0, &buf, &len, &count, &err), &err);
}

static void test_devcluster(void) {
    gofka_error_t err;
    gofka_handle_t d = 0, p = 0;
    char *list = NULL;
    size_t len = 0;
    int commas = 0;
    int64_t offset = -1;
    char cfg[1200];

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_devcluster_new(0, 0, &d, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_devcluster_new(17, 0, &d, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_devcluster_new(1, 70000, &d, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_devcluster_new(1, 0, NULL, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_devcluster_new(3, 0, &d, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_devcluster_brokers(d, &list, &len, &err), &err);
    REQUIRE(list != NULL);
    CHECK(strlen(list) == len);
    for (const char *c = list; *c; c++) commas += (*c == ',');
    CHECK(commas == 2);
    CHECK(strncmp(list, "127.0.0.1:", 10) == 0);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_devcluster_brokers(d, NULL, &len, &err), &err);

    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s", list);
    gofka_free(list);
    REQUIRE_RC(GOFKA_OK, gofka_producer_new(cfg, &p, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_send(p, "devcluster-topic", 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 15000, &offset, &err), &err);
    CHECK(offset == 0);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);

    CHECK_RC(GOFKA_OK, gofka_devcluster_close(d, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_devcluster_brokers(d, &list, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_devcluster_close(d, &err), &err);
}

/* ------------------------------------------------------------------------ */
/* Asynchronous produce through an event queue                               */
/* ------------------------------------------------------------------------ */

static uint64_t rd_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_async_produce(void) {
    gofka_error_t err;
    gofka_handle_t q = 0;
    char topic[96];
    int64_t offset_of[10];
    int got = 0;
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "async");
    REQUIRE_RC(GOFKA_OK, gofka_queue_new(&q, &err), &err);
    for (int i = 0; i < 10; i++) offset_of[i] = -9;

    for (int i = 0; i < 10; i++) {
        char v[16];
        snprintf(v, sizeof v, "async-%d", i);
        CHECK_RC(GOFKA_OK, gofka_producer_produce(p, q, 100 + (uint64_t)i, topic, 0, NULL, -1, (const uint8_t *)v,
                                                  (int64_t)strlen(v), NULL, 0, -1, &err), &err);
    }
    /* misuse: a producer handle as the queue, a NULL topic, a bad buffer */
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_produce(p, p, 1, topic, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_produce(p, q, 1, NULL, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_produce(p, q, 1, topic, 0, NULL, -1, NULL, 5, NULL, 0, -1, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_flush(p, 15000, &err), &err);
    /* The ready flag turns nonzero once events wait (bounded: 10 s), and
     * back to 0 once the drains below took them all. */
    const int32_t *flag = NULL;
    REQUIRE_RC(GOFKA_OK, gofka_queue_ready_flag(q, &flag, &err), &err);
    for (int i = 0; i < 10000 && __atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    CHECK(__atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0);

    for (int tries = 0; tries < 100 && got < 10; tries++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        REQUIRE_RC(GOFKA_OK, gofka_queue_drain(q, 64, 200, &buf, &len, &count, &err), &err);
        const uint8_t *e = buf, *end = buf + len;
        for (int i = 0; i < count; i++) {
            REQUIRE(end - e >= 28);
            uint64_t token = rd_u64(e);
            int32_t code = (int32_t)rd_u32(e + 8);
            int64_t offset = (int64_t)rd_u64(e + 16);
            uint32_t n = rd_u32(e + 24);
            CHECK(code == 0);
            CHECK(token >= 100 && token < 110);
            if (token >= 100 && token < 110) offset_of[token - 100] = offset;
            e += 28 + n;
            got++;
        }
        CHECK(e == end);
        gofka_free(buf);
    }
    CHECK(got == 10);
    CHECK(__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0);
    for (int i = 0; i < 10; i++) CHECK(offset_of[i] == i); /* one partition: produce order */
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 15000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_queue_close(q, &err), &err);
}

/* gofka_producer_produce_wait: sync sends, each record's event drained by
 * the same call (or by later drains when it needs longer), in order. */
static void test_produce_wait(void) {
    gofka_error_t err;
    gofka_handle_t q = 0;
    char topic[96];
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "pwait");
    REQUIRE_RC(GOFKA_OK, gofka_queue_new(&q, &err), &err);
    for (int i = 0; i < 20; i++) {
        char v[16];
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        int64_t offset = -9;
        snprintf(v, sizeof v, "wait-%d", i);
        REQUIRE_RC(GOFKA_OK, gofka_producer_produce_wait(p, q, 500 + (uint64_t)i, topic, 0, NULL, -1, (const uint8_t *)v,
                                                         (int64_t)strlen(v), NULL, 0, -1, 16, 15000, &buf, &len, &count,
                                                         &err), &err);
        for (int tries = 0; count == 0 && tries < 100; tries++)
            REQUIRE_RC(GOFKA_OK, gofka_queue_drain(q, 16, 200, &buf, &len, &count, &err), &err);
        REQUIRE(count == 1 && len >= 28);
        CHECK(rd_u64(buf) == 500 + (uint64_t)i);
        CHECK((int32_t)rd_u32(buf + 8) == 0);
        offset = (int64_t)rd_u64(buf + 16);
        CHECK(offset == i); /* one partition, one record at a time */
        gofka_free(buf);
    }
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        /* misuse: no queue, NULL outputs, no room for events: nothing is sent */
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_produce_wait(p, 0, 1, topic, 0, NULL, -1, (const uint8_t *)"v", 1,
                                                                         NULL, 0, -1, 16, 10, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_produce_wait(p, q, 1, topic, 0, NULL, -1, (const uint8_t *)"v", 1,
                                                                         NULL, 0, -1, 16, 10, NULL, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_produce_wait(p, q, 1, topic, 0, NULL, -1, (const uint8_t *)"v", 1,
                                                                         NULL, 0, -1, 0, 10, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_produce_wait(p, p, 1, topic, 0, NULL, -1, (const uint8_t *)"v", 1,
                                                                       NULL, 0, -1, 16, 10, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_OK, gofka_queue_drain(q, 16, 0, &buf, &len, &count, &err), &err);
        CHECK(count == 0); /* the refused calls posted nothing */
    }
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 15000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_queue_close(q, &err), &err);
}

/* ------------------------------------------------------------------------ */
/* Consumer                                                                  */
/* ------------------------------------------------------------------------ */

static void put_partitions(packbuf *b, const char *topic, int n) {
    put_i32(b, n);
    for (int i = 0; i < n; i++) {
        put_bytes(b, topic, (int32_t)strlen(topic));
        put_i32(b, i);
    }
}

static void test_consumer_group_roundtrip(void) {
    gofka_error_t err;
    char topic[96], cfg[1400], extra[256];
    packbuf recs, parts;
    int64_t offsets[5];
    int received = 0;
    gofka_handle_t c = 0;
    gofka_handle_t p = new_producer();
    REQUIRE(p != 0);
    harness_topic(topic, sizeof topic, "consume");
    recs.len = 0;
    for (int i = 0; i < 5; i++) {
        char v[16];
        snprintf(v, sizeof v, "m%d", i);
        put_record(&recs, "k", v, -1);
    }
    REQUIRE_RC(GOFKA_OK, gofka_producer_send_batch(p, topic, 0, recs.data, recs.len, 5, 15000, offsets, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);

    snprintf(extra, sizeof extra, "group.id=%s-group\nauto.offset.reset=earliest\nenable.auto.commit=false\n", topic);
    config_for(cfg, sizeof cfg, extra);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_new(cfg, &c, &err), &err);
    /* exactly one of topics and pattern */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_subscribe(c, NULL, NULL, 1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_subscribe(c, topic, "gofka-.*", 1000, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_subscribe(c, topic, NULL, 30000, &err), &err);

    for (int tries = 0; tries < 60 && received < 5; tries++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = -1;
        REQUIRE_RC(GOFKA_OK, gofka_consumer_poll(c, 100, 500, &buf, &len, &count, &err), &err);
        if (buf == NULL) continue;
        /* head: message_count, event_count, topic_count, topic table */
        const uint8_t *q = buf;
        int32_t nmsg = (int32_t)rd_u32(q), nev = (int32_t)rd_u32(q + 4), ntop = (int32_t)rd_u32(q + 8);
        CHECK(nmsg == count);
        q += 12;
        for (int t = 0; t < ntop; t++) q += 4 + rd_u32(q);
        for (int e = 0; e < nev; e++) q += 8 + 8 * (size_t)rd_u32(q + 4);
        /* 48-byte heads; key/value/headers are [start, end) ranges of buf */
        for (int m = 0; m < nmsg; m++) {
            int64_t off = (int64_t)rd_u64(q + 8);
            int32_t ks = (int32_t)rd_u32(q + 24), ke = (int32_t)rd_u32(q + 28);
            int32_t vs = (int32_t)rd_u32(q + 32), ve = (int32_t)rd_u32(q + 36);
            int32_t hs = (int32_t)rd_u32(q + 40), he = (int32_t)rd_u32(q + 44);
            char want[16];
            snprintf(want, sizeof want, "m%d", received);
            CHECK(off == received);
            REQUIRE(ks >= 0 && ke <= (int32_t)len && vs >= 0 && ve <= (int32_t)len);
            CHECK(ke - ks == 1 && buf[ks] == 'k');
            CHECK(ve - vs == (int32_t)strlen(want) && memcmp(buf + vs, want, (size_t)(ve - vs)) == 0);
            CHECK(hs == -1 && he == -1);
            q += 48;
            received++;
        }
        CHECK(q <= buf + len);
        gofka_free(buf);
    }
    CHECK(received == 5);

    CHECK_RC(GOFKA_OK, gofka_consumer_commit(c, NULL, 0, 1, 15000, &err), &err);
    parts.len = 0;
    put_partitions(&parts, topic, 1);
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        REQUIRE_RC(GOFKA_OK, gofka_consumer_committed(c, parts.data, parts.len, 15000, &buf, &len, &err), &err);
        /* offsets: count, topic, partition, offset, timestamp */
        REQUIRE(buf != NULL && len == 4 + 4 + strlen(topic) + 4 + 8 + 8);
        CHECK(rd_u32(buf) == 1);
        CHECK((int64_t)rd_u64(buf + 12 + strlen(topic)) == 5);
        gofka_free(buf);
    }
    /* misuse on a live consumer */
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_poll(c, 10, 0, NULL, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_committed(c, parts.data, parts.len - 2, 1000, &buf, &len, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_committed(c, NULL, 12, 1000, &buf, &len, &err), &err);
        CHECK(buf == NULL);
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_send(c, topic, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 1000, NULL, &err), &err);
    }
    CHECK_RC(GOFKA_OK, gofka_consumer_close(c, 15000, &err), &err);
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_poll(c, 10, 0, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_close(c, 1000, &err), &err);
    }
}

static void test_consumer_misuse(void) {
    gofka_error_t err;
    char topic[96], cfg[1400];
    packbuf parts;
    gofka_handle_t c = 0;
    harness_topic(topic, sizeof topic, "consumer-misuse");
    config_for(cfg, sizeof cfg, "auto.offset.reset=earliest\n"); /* no group.id */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_new(NULL, &c, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_new(cfg, NULL, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_new("bootstrap.servers=127.0.0.1:9\nauto.offset.reset=sometimes", &c, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_new(cfg, &c, &err), &err);

    CHECK_RC(24 /* INVALID_GROUP_ID */, gofka_consumer_subscribe(c, topic, NULL, 1000, &err), &err);

    /* truncated partitions buffers: count 2 with one entry; cut in a name */
    parts.len = 0;
    put_partitions(&parts, topic, 1);
    parts.data[0] = 2;
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_assign(c, parts.data, parts.len, &err), &err);
    parts.data[0] = 1;
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_assign(c, parts.data, 10, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_assign(c, parts.data, parts.len + 3, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_assign(c, NULL, 8, &err), &err);
    /* a partition not assigned cannot be sought or paused */
    {
        packbuf offs;
        offs.len = 0;
        put_i32(&offs, 1);
        put_bytes(&offs, topic, (int32_t)strlen(topic));
        put_i32(&offs, 0);
        put_i64(&offs, 0);
        put_i64(&offs, -1);
        CHECK_RC(GOFKA_ERR_NOT_ASSIGNED, gofka_consumer_seek(c, offs.data, offs.len, &err), &err);
        CHECK_RC(GOFKA_ERR_NOT_ASSIGNED, gofka_consumer_pause(c, parts.data, parts.len, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_seek(c, offs.data, offs.len - 1, &err), &err);
    }
    /* a valid assignment, then read it back */
    CHECK_RC(GOFKA_OK, gofka_consumer_assign(c, parts.data, parts.len, &err), &err);
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        CHECK_RC(GOFKA_OK, gofka_consumer_assignment(c, &buf, &len, &err), &err);
        CHECK(len == parts.len && buf && memcmp(buf, parts.data, len) == 0);
        gofka_free(buf);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_assignment(c, NULL, &len, &err), &err);
    }
    CHECK_RC(GOFKA_OK, gofka_consumer_close(c, 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_assign(c, parts.data, parts.len, &err), &err);
}

/* ------------------------------------------------------------------------ */
/* Admin: the generic call                                                    */
/* ------------------------------------------------------------------------ */

static void test_admin_call(void) {
    gofka_error_t err;
    gofka_handle_t a = 0;
    char topic[96], cfg[1400], args[512];
    char *json = NULL;
    size_t len = 0;
    harness_topic(topic, sizeof topic, "admin");
    config_for(cfg, sizeof cfg, NULL);
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &a, &err), &err);

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, NULL, "{}", 5000, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, "no_such_op", "{}", 5000, &json, &len, &err), &err);
    CHECK(contains(err.message, "list_topics")); /* names the known operations */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, "partition_count", "{\"topic\": ", 5000, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, "partition_count", "{\"topik\": \"x\"}", 5000, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, "list_topics", "{}", 5000, NULL, &len, &err), &err);
    CHECK(json == NULL);

    snprintf(args, sizeof args,
             "{\"topics\": [{\"name\": \"%s\", \"num_partitions\": 3, \"replication_factor\": 1}]}", topic);
    REQUIRE_RC(GOFKA_OK, gofka_admin_call(a, "create_topics", args, 30000, &json, &len, &err), &err);
    gofka_free(json);
    json = NULL;
    snprintf(args, sizeof args, "{\"topic\": \"%s\"}", topic);
    REQUIRE_RC(GOFKA_OK, gofka_admin_call(a, "partition_count", args, 15000, &json, &len, &err), &err);
    CHECK(json && strcmp(json, "3") == 0 && len == 1);
    gofka_free(json);
    json = NULL;
    snprintf(args, sizeof args, "{\"topic\": \"%s-missing\"}", topic);
    CHECK_RC(3 /* UNKNOWN_TOPIC_OR_PARTITION */, gofka_admin_call(a, "describe_topic", args, 15000, &json, &len, &err), &err);
    CHECK(json == NULL);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_call(a, "list_topics", "{}", 5000, &json, &len, &err), &err);
}

/* Both JSON call tables (admin, pool), sync and async alike, refuse a NULL
 * or unknown op (naming the known ones) and args_json that is not JSON at
 * the call, before any I/O: the async twins return the error instead of
 * posting it (gofka.h: the pool call works "as gofka_admin_call"). */
static void test_json_calls_check_at_call(void) {
    gofka_error_t err;
    gofka_handle_t a = 0, pool = 0, q = 0;
    char cfg[1400];
    char *json = NULL;
    size_t len = 0;
    config_for(cfg, sizeof cfg, NULL);
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &a, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_pool_new("connect.timeout.ms=2000", &pool, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_queue_new(&q, &err), &err);
    struct {
        const char *op, *args, *known;
    } bad[] = {
        {NULL, "{}", NULL},
        {"no_such_op", "{}", "stats"},
        {"stats", "{\"x\": ", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *known = bad[i].known;
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_pool_call(pool, bad[i].op, bad[i].args, 1000, &json, &len, &err), &err);
        CHECK(!known || contains(err.message, known));
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_pool_call_async(pool, q, 1, bad[i].op, bad[i].args, 1000, &err), &err);
        CHECK(!known || contains(err.message, known));
        known = known ? "list_topics" : NULL;
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, bad[i].op, bad[i].args, 1000, &json, &len, &err), &err);
        CHECK(!known || contains(err.message, known));
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call_async(a, q, 1, bad[i].op, bad[i].args, 1000, &err), &err);
        CHECK(!known || contains(err.message, known));
    }
    CHECK(json == NULL);
    /* Nothing was posted: every error came back from the call. */
    uint8_t *buf = NULL;
    int32_t count = -1;
    CHECK_RC(GOFKA_OK, gofka_queue_drain(q, 16, 0, &buf, &len, &count, &err), &err);
    CHECK(count == 0);
    gofka_free(buf);
    /* A good pool call still answers, synchronously and as an event. */
    CHECK_RC(GOFKA_OK, gofka_pool_call(pool, "stats", NULL, 1000, &json, &len, &err), &err);
    CHECK(json && json[0] == '{');
    gofka_free(json);
    CHECK_RC(GOFKA_OK, gofka_pool_call_async(pool, q, 7, "stats", "", 1000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_queue_drain(q, 16, 5000, &buf, &len, &count, &err), &err);
    CHECK(count == 1);
    gofka_free(buf);
    CHECK_RC(GOFKA_OK, gofka_queue_close(q, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_pool_close(pool, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
}

/* ------------------------------------------------------------------------ */
/* Engine log                                                                */
/* ------------------------------------------------------------------------ */

static void test_engine_log(void) {
    gofka_error_t err;
    uint8_t *buf = NULL;
    size_t len = 0;
    int32_t count = -1, partitions = -1;
    int found_conn = 0;
    char topic[96];

    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_log_set_level(101, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_log_set_level(-1, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_log_drain(0, 0, &buf, &len, &count, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_log_drain(10, 0, NULL, &len, &count, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_log_drain(10, 0, &buf, &len, NULL, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_log_set_level(GOFKA_LOG_INFO, &err), &err);
    while (gofka_log_drain(1000, 0, &buf, &len, &count, NULL) == GOFKA_OK && count > 0) gofka_free(buf); /* old lines */
    {
        gofka_handle_t p = new_producer();
        REQUIRE(p != 0);
        harness_topic(topic, sizeof topic, "log");
        CHECK_RC(GOFKA_OK, gofka_producer_partition_count(p, topic, 15000, &partitions, &err), &err);
        CHECK(partitions >= 1);
        CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);
    }
    REQUIRE_RC(GOFKA_OK, gofka_log_drain(1000, 2000, &buf, &len, &count, &err), &err);
    REQUIRE(count > 0 && buf != NULL);
    {
        const uint8_t *q = buf, *end = buf + len;
        for (int i = 0; i < count; i++) {
            REQUIRE(end - q >= 16);
            int32_t level = (int32_t)rd_u32(q);
            uint32_t sublen = rd_u32(q + 12);
            REQUIRE((size_t)(end - q) >= 16 + sublen + 4);
            uint32_t msglen = rd_u32(q + 16 + sublen);
            CHECK(level >= GOFKA_LOG_INFO && level <= GOFKA_LOG_ERROR);
            CHECK((int64_t)rd_u64(q + 4) > 1600000000LL * 1000000000LL); /* ns since the epoch */
            if (sublen == 4 && memcmp(q + 16, "conn", 4) == 0 && msglen > 12 && memcmp(q + 20 + sublen, "connected to", 12) == 0)
                found_conn = 1;
            q += 16 + sublen + 4 + msglen;
        }
        CHECK(q == end);
    }
    gofka_free(buf);
    CHECK(found_conn);
    CHECK_RC(GOFKA_OK, gofka_log_set_level(GOFKA_LOG_OFF, &err), &err);
    while (gofka_log_drain(1000, 0, &buf, &len, &count, NULL) == GOFKA_OK && count > 0) gofka_free(buf);
    {
        gofka_handle_t p = new_producer(); /* logging off: nothing is kept */
        REQUIRE(p != 0);
        CHECK_RC(GOFKA_OK, gofka_producer_connect(p, 15000, &err), &err);
        CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);
    }
    CHECK_RC(GOFKA_OK, gofka_log_drain(1000, 0, &buf, &len, &count, &err), &err);
    CHECK(count == 0 && buf == NULL);
}

/* ------------------------------------------------------------------------ */

static void all_tests(void) {
    RUN(test_version_and_abi);
    RUN(test_error_table);
    RUN(test_debug_stats);
    RUN(test_config_errors);
    RUN(test_invalid_handles);
    RUN(test_send_misuse);
    RUN(test_batch_misuse);
    RUN(test_produce_and_list);
    RUN(test_unreachable_cluster);
    RUN(test_threads);
    RUN(test_queue);
    RUN(test_devcluster);
    RUN(test_async_produce);
    RUN(test_produce_wait);
    RUN(test_consumer_group_roundtrip);
    RUN(test_consumer_misuse);
    RUN(test_admin_call);
    RUN(test_json_calls_check_at_call);
    RUN(test_engine_log);
    cxx_tests();
}

int main(void) { return harness_main(all_tests); }
