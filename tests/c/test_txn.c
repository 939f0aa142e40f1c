/*
 * test_txn.c - transactions through the C ABI (include/gofka.h,
 * "Transactions"): init/begin/commit/abort, the records a read_committed
 * and a read_uncommitted reader see, offsets sent with a transaction and
 * gofka_consumer_group_metadata, the two error codes of a transactional
 * producer (GOFKA_ERR_TXN_ABORTABLE for a stale group member,
 * GOFKA_ERR_TXN_FATAL once fenced), calls out of order and bad arguments.
 *
 * A binary of its own with the shared harness (harness.c; make test-c):
 *   cc -std=c11 -Iinclude tests/c/test_txn.c tests/c/harness.c \
 *      -Lpython/gofka -lgofka -Wl,-rpath,$PWD/python/gofka -o test_txn
 * It uses GOFKA_BROKERS, else a dev cluster started through the C API.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define INVALID_TXN_STATE 48 /* Kafka's code: a call out of order */

typedef struct {
    uint8_t data[1024];
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

static void put_str(packbuf *b, const char *s) {
    put_i32(b, (int32_t)strlen(s));
    memcpy(b->data + b->len, s, strlen(s));
    b->len += strlen(s);
}

/* The offsets format with one entry. */
static void one_offset(packbuf *b, const char *topic, int32_t partition, int64_t offset) {
    b->len = 0;
    put_i32(b, 1);
    put_str(b, topic);
    put_i32(b, partition);
    put_i64(b, offset);
    put_i64(b, -1);
}

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_u64(const uint8_t *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

static gofka_handle_t new_client(int consumer, const char *extra) {
    char cfg[1400];
    gofka_handle_t h = 0;
    gofka_error_t err;
    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\nclient.id=gofka-c-txn\n%s", harness_brokers(), extra);
    int32_t rc = consumer ? gofka_consumer_new(cfg, &h, &err) : gofka_producer_new(cfg, &h, &err);
    if (rc != GOFKA_OK) {
        harness_fail_err(__FILE__, __LINE__, consumer ? "gofka_consumer_new" : "gofka_producer_new", &err);
        return 0;
    }
    return h;
}

static gofka_handle_t txn_producer(const char *txn_id) {
    char extra[256];
    snprintf(extra, sizeof extra, "transactional.id=%s\n", txn_id);
    return new_client(0, extra);
}

static int32_t send(gofka_handle_t p, const char *topic, const char *value, gofka_error_t *err) {
    return gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)value, (int64_t)strlen(value), NULL, 0, -1,
                               15000, NULL, err);
}

/* Reads partition 0 of topic from the start with `isolation` until the
 * value "END"; writes the values before it, joined by ',', into out.
 * Returns 0 when END was not seen within ~30 s. */
static int read_until_end(const char *topic, const char *isolation, char *out, size_t size) {
    char extra[256];
    gofka_error_t err;
    packbuf parts = {{0}, 0};
    int ended = 0;
    out[0] = 0;
    snprintf(extra, sizeof extra, "auto.offset.reset=earliest\nisolation.level=%s\n", isolation);
    gofka_handle_t c = new_client(1, extra);
    if (c == 0) return 0;
    put_i32(&parts, 1);
    put_str(&parts, topic);
    put_i32(&parts, 0);
    if (gofka_consumer_assign(c, parts.data, parts.len, &err) != GOFKA_OK) {
        harness_fail_err(__FILE__, __LINE__, "gofka_consumer_assign", &err);
        gofka_consumer_close(c, 5000, NULL);
        return 0;
    }
    for (int tries = 0; tries < 60 && !ended; tries++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        if (gofka_consumer_poll(c, 100, 500, &buf, &len, &count, &err) != GOFKA_OK) {
            harness_fail_err(__FILE__, __LINE__, "gofka_consumer_poll", &err);
            break;
        }
        if (buf == NULL) continue;
        /* head: message_count, event_count, topic_count, topic table;
         * events; 48-byte message heads (gofka.h, poll format) */
        const uint8_t *q = buf;
        int32_t nmsg = (int32_t)rd_u32(q), nev = (int32_t)rd_u32(q + 4), ntop = (int32_t)rd_u32(q + 8);
        q += 12;
        for (int t = 0; t < ntop; t++) q += 4 + rd_u32(q);
        for (int e = 0; e < nev; e++) q += 8 + 8 * (size_t)rd_u32(q + 4);
        for (int m = 0; m < nmsg && !ended; m++, q += 48) {
            int32_t vs = (int32_t)rd_u32(q + 32), ve = (int32_t)rd_u32(q + 36);
            size_t n = (size_t)(ve - vs), used = strlen(out);
            if (n == 3 && memcmp(buf + vs, "END", 3) == 0) {
                ended = 1;
            } else if (used + n + 2 < size) {
                if (used) out[used++] = ',';
                memcpy(out + used, buf + vs, n);
                out[used + n] = 0;
            }
        }
        gofka_free(buf);
    }
    gofka_consumer_close(c, 5000, NULL);
    return ended;
}

static void test_commit_and_abort(void) {
    gofka_error_t err;
    char topic[96], txn_id[128], got[256];
    harness_topic(topic, sizeof topic, "txn");
    snprintf(txn_id, sizeof txn_id, "%s-id", topic);
    gofka_handle_t p = txn_producer(txn_id);
    REQUIRE(p != 0);
    /* Out of order: before init_transactions. */
    CHECK_RC(INVALID_TXN_STATE, gofka_producer_begin_transaction(p, &err), &err);
    CHECK_RC(INVALID_TXN_STATE, gofka_producer_commit_transaction(p, 5000, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_producer_init_transactions(p, 30000, &err), &err);
    /* Outside a transaction nothing is produced. */
    CHECK_RC(INVALID_TXN_STATE, send(p, topic, "outside", &err), &err);
    CHECK_RC(INVALID_TXN_STATE, gofka_producer_abort_transaction(p, 5000, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p, &err), &err);
    CHECK_RC(INVALID_TXN_STATE, gofka_producer_begin_transaction(p, &err), &err);
    CHECK_RC(GOFKA_OK, send(p, topic, "c1", &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_commit_transaction(p, 30000, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p, &err), &err);
    CHECK_RC(GOFKA_OK, send(p, topic, "a1", &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_abort_transaction(p, 30000, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p, &err), &err);
    CHECK_RC(GOFKA_OK, send(p, topic, "END", &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_commit_transaction(p, -1, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);

    CHECK(read_until_end(topic, "read_committed", got, sizeof got));
    CHECK(strcmp(got, "c1") == 0);
    CHECK(read_until_end(topic, "read_uncommitted", got, sizeof got));
    CHECK(strcmp(got, "c1,a1") == 0);
}

static void test_offsets_and_group_metadata(void) {
    gofka_error_t err;
    char topic[96], extra[256], txn_id[128], want[160];
    packbuf offs;
    char *md = NULL;
    size_t md_len = 0;
    harness_topic(topic, sizeof topic, "txnoff");
    snprintf(txn_id, sizeof txn_id, "%s-id", topic);

    /* A consumer without group.id has no group metadata. */
    gofka_handle_t nogroup = new_client(1, "");
    REQUIRE(nogroup != 0);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_group_metadata(nogroup, &md, &md_len, &err), &err);
    CHECK(md == NULL);
    gofka_consumer_close(nogroup, 5000, NULL);

    snprintf(extra, sizeof extra, "group.id=%s-g\nenable.auto.commit=false\n", topic);
    gofka_handle_t c = new_client(1, extra);
    REQUIRE(c != 0);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_consumer_group_metadata(c, NULL, &md_len, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_group_metadata(c, &md, &md_len, &err), &err);
    REQUIRE(md != NULL);
    snprintf(want, sizeof want, "\"group_id\":\"%s-g\"", topic);
    CHECK(strstr(md, want) != NULL);
    CHECK(md_len == strlen(md));

    gofka_handle_t p = txn_producer(txn_id);
    REQUIRE(p != 0);
    REQUIRE_RC(GOFKA_OK, gofka_producer_init_transactions(p, 30000, &err), &err);
    one_offset(&offs, topic, 0, 3);
    /* Offsets outside a transaction are refused. */
    CHECK_RC(INVALID_TXN_STATE,
             gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len, md, 5000, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p, &err), &err);
    CHECK_RC(GOFKA_OK, send(p, topic, "x", &err), &err); /* creates the topic */
    /* Bad arguments change nothing. */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len, NULL, 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len, "{}", 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len, "not json", 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len - 3, md, 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_offsets_to_transaction(p, NULL, 20, md, 5000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len, md, 30000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_commit_transaction(p, 30000, &err), &err);
    {
        packbuf parts = {{0}, 0};
        uint8_t *buf = NULL;
        size_t len = 0;
        put_i32(&parts, 1);
        put_str(&parts, topic);
        put_i32(&parts, 0);
        REQUIRE_RC(GOFKA_OK, gofka_consumer_committed(c, parts.data, parts.len, 15000, &buf, &len, &err), &err);
        REQUIRE(buf != NULL && len == 4 + 4 + strlen(topic) + 4 + 8 + 8);
        CHECK((int64_t)rd_u64(buf + 12 + strlen(topic)) == 3);
        gofka_free(buf);
    }

    /* A member the group does not know: the transaction cannot commit
     * (GOFKA_ERR_TXN_ABORTABLE) until it is aborted. */
    {
        char stale[256];
        snprintf(extra, sizeof extra, "group.id=%s-g2\nenable.auto.commit=false\nauto.offset.reset=earliest\n", topic);
        gofka_handle_t member = new_client(1, extra);
        REQUIRE(member != 0);
        REQUIRE_RC(GOFKA_OK, gofka_consumer_subscribe(member, topic, NULL, 30000, &err), &err);
        for (int tries = 0; tries < 60; tries++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            int32_t count = 0;
            REQUIRE_RC(GOFKA_OK, gofka_consumer_poll(member, 10, 500, &buf, &len, &count, &err), &err);
            if (buf) gofka_free(buf);
            if (count > 0) break;
        }
        snprintf(stale, sizeof stale,
                 "{\"group_id\":\"%s-g2\",\"generation_id\":99,\"member_id\":\"bogus\",\"group_instance_id\":null}", topic);
        REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p, &err), &err);
        CHECK_RC(GOFKA_ERR_TXN_ABORTABLE,
                 gofka_producer_send_offsets_to_transaction(p, offs.data, offs.len, stale, 30000, &err), &err);
        CHECK(strcmp(err.name, "TXN_ABORTABLE") == 0 && err.retriable == 0);
        CHECK_RC(GOFKA_ERR_TXN_ABORTABLE, gofka_producer_commit_transaction(p, 30000, &err), &err);
        CHECK_RC(GOFKA_OK, gofka_producer_abort_transaction(p, 30000, &err), &err);
        REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p, &err), &err);
        CHECK_RC(GOFKA_OK, gofka_producer_commit_transaction(p, 30000, &err), &err);
        gofka_consumer_close(member, 5000, NULL);
    }
    gofka_free(md);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 5000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_consumer_close(c, 5000, &err), &err);
}

static void test_fenced_producer_is_fatal(void) {
    gofka_error_t err;
    char topic[96], txn_id[128];
    harness_topic(topic, sizeof topic, "txnfence");
    snprintf(txn_id, sizeof txn_id, "%s-id", topic);
    gofka_handle_t p1 = txn_producer(txn_id), p2 = txn_producer(txn_id);
    REQUIRE(p1 != 0 && p2 != 0);
    REQUIRE_RC(GOFKA_OK, gofka_producer_init_transactions(p1, 30000, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p1, &err), &err);
    CHECK_RC(GOFKA_OK, send(p1, topic, "zombie", &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_producer_init_transactions(p2, 30000, &err), &err);
    /* The partition leader refuses p1's epoch, which it cannot tell from a
     * transaction that outlived its timeout: abortable (KIP-588). The
     * coordinator fences the abort; then p1 can do nothing more. */
    CHECK_RC(GOFKA_ERR_TXN_ABORTABLE, send(p1, topic, "zombie2", &err), &err);
    CHECK(strstr(err.message, "INVALID_PRODUCER_EPOCH") != NULL);
    CHECK_RC(GOFKA_ERR_TXN_ABORTABLE, gofka_producer_commit_transaction(p1, 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_TXN_FATAL, gofka_producer_abort_transaction(p1, 5000, &err), &err);
    CHECK(strcmp(err.name, "TXN_FATAL") == 0);
    CHECK(strstr(err.message, "PRODUCER_FENCED") != NULL);
    CHECK_RC(GOFKA_ERR_TXN_FATAL, gofka_producer_commit_transaction(p1, 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_TXN_FATAL, gofka_producer_abort_transaction(p1, 5000, &err), &err);
    CHECK_RC(GOFKA_ERR_TXN_FATAL, gofka_producer_begin_transaction(p1, &err), &err);
    /* p2 goes on. */
    REQUIRE_RC(GOFKA_OK, gofka_producer_begin_transaction(p2, &err), &err);
    CHECK_RC(GOFKA_OK, send(p2, topic, "END", &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_commit_transaction(p2, 30000, &err), &err);
    gofka_producer_close(p1, 5000, NULL);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p2, 5000, &err), &err);
}

static void test_misuse(void) {
    gofka_error_t err;
    packbuf offs;
    one_offset(&offs, "t", 0, 1);
    /* Not a producer / not transactional. */
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_init_transactions(0, 1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_begin_transaction(0, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_commit_transaction(0, 1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_abort_transaction(0, 1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_group_metadata(0, NULL, NULL, &err), &err);
    gofka_handle_t plain = new_client(0, "");
    REQUIRE(plain != 0);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_init_transactions(plain, 1000, &err), &err);
    CHECK(strstr(err.message, "transactional.id") != NULL);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_begin_transaction(plain, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_offsets_to_transaction(plain, offs.data, offs.len,
                                                        "{\"group_id\":\"g\",\"generation_id\":-1,\"member_id\":\"\"}",
                                                        1000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_group_metadata(plain, NULL, NULL, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_close(plain, 5000, &err), &err);
    /* An inconsistent transactional configuration. */
    {
        gofka_handle_t h = 0;
        char cfg[512];
        snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\ntransactional.id=x\nacks=1\n", harness_brokers());
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_new(cfg, &h, &err), &err);
        CHECK(h == 0);
    }
}

static void test_timeout_bounds_init(void) {
    /* No broker: init_transactions ends (with an error) within its
     * timeout, not later (a loose bound: 3x). */
    gofka_error_t err;
    gofka_handle_t h = 0;
    struct timespec t0, t1;
    REQUIRE_RC(GOFKA_OK, gofka_producer_new("bootstrap.servers=127.0.0.1:9\ntransactional.id=nobody\n", &h, &err), &err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int32_t rc = gofka_producer_init_transactions(h, 500, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(rc != GOFKA_OK && rc != GOFKA_ERR_TXN_FATAL);
    CHECK(secs < 1.5);
    gofka_producer_close(h, 1000, NULL);
}

static void tests(void) {
    RUN(test_commit_and_abort);
    RUN(test_offsets_and_group_metadata);
    RUN(test_fenced_producer_is_fatal);
    RUN(test_misuse);
    RUN(test_timeout_bounds_init);
}

int main(void) { return harness_main(tests); }
