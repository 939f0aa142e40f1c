/*
 * test_share.c - the share consumer of the C ABI (gofka_share_consumer_*,
 * KIP-932): a poll's share messages buffer (the messages format, then one
 * delivery count per message), acknowledge (release comes back with the
 * delivery count + 1), commit's ack results, the explicit-mode rules, the
 * timeout bound of an empty poll, and the errors for bad arguments and a
 * closed handle.
 *
 * A binary of its own with the shared harness (harness.c; make test-c):
 *   cc -std=c11 -Iinclude tests/c/test_share.c tests/c/harness.c \
 *      -Lpython/gofka -lgofka -Wl,-rpath,$PWD/python/gofka -o test_share
 * It uses GOFKA_BROKERS (Apache Kafka 4.2+: share groups), else a dev
 * cluster started through the C API.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_u64(const uint8_t *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One record of a poll, decoded. */
typedef struct {
    int64_t offset;
    int32_t partition;
    int32_t delivery_count;
    char value[16];
} rec_t;

/* Polls once (up to 10 records, 500 ms) into out; returns the count, or -1
 * with err filled. Checks the buffer's structure on the way. */
static int poll_once(gofka_handle_t c, rec_t *out, gofka_error_t *err) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int32_t count = -1;
    int32_t rc = gofka_share_consumer_poll(c, 10, 500, &buf, &len, &count, err);
    if (rc != GOFKA_OK) return -1;
    if (buf == NULL) {
        CHECK(count == 0 && len == 0);
        return 0;
    }
    const uint8_t *q = buf;
    int32_t nmsg = (int32_t)rd_u32(q), nev = (int32_t)rd_u32(q + 4), ntop = (int32_t)rd_u32(q + 8);
    CHECK(nmsg == count && nev == 0 && ntop == 1);
    q += 12;
    for (int t = 0; t < ntop; t++) q += 4 + rd_u32(q);
    /* the delivery counts: the last 4 * count bytes */
    const uint8_t *counts = buf + len - 4 * (size_t)count;
    for (int m = 0; m < nmsg && m < 10; m++) {
        int32_t vs = (int32_t)rd_u32(q + 32), ve = (int32_t)rd_u32(q + 36);
        out[m].partition = (int32_t)rd_u32(q + 4);
        out[m].offset = (int64_t)rd_u64(q + 8);
        out[m].delivery_count = (int32_t)rd_u32(counts + 4 * m);
        CHECK(vs >= 0 && ve <= (int32_t)(len - 4 * (size_t)count) && ve - vs < 16);
        memcpy(out[m].value, buf + vs, (size_t)(ve - vs));
        out[m].value[ve - vs] = 0;
        q += 48;
    }
    gofka_free(buf);
    return count;
}

static void test_share_consumer(void) {
    gofka_error_t err;
    char topic[96], group[128], cfg[1400], args[512];
    gofka_handle_t admin = 0, prod = 0, c = 0;
    char *json = NULL;
    harness_topic(topic, sizeof topic, "share");
    snprintf(group, sizeof group, "share-%s", topic);

    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\n", harness_brokers());
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &admin, &err), &err);
    snprintf(args, sizeof args, "{\"topics\":[{\"name\":\"%s\",\"num_partitions\":1,\"replication_factor\":1}]}", topic);
    REQUIRE_RC(GOFKA_OK, gofka_admin_call(admin, "create_topics", args, 15000, &json, NULL, &err), &err);
    gofka_free(json);
    /* a new share group starts at the latest offset unless told otherwise */
    snprintf(args, sizeof args, "{\"resource_type\":\"group\",\"name\":\"%s\",\"ops\":[{\"name\":"
             "\"share.auto.offset.reset\",\"value\":\"earliest\"}]}", group);
    REQUIRE_RC(GOFKA_OK, gofka_admin_call(admin, "alter_configs", args, 15000, &json, NULL, &err), &err);
    gofka_free(json);
    CHECK_RC(GOFKA_OK, gofka_admin_close(admin, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_producer_new(cfg, &prod, &err), &err);
    for (int i = 0; i < 3; i++) {
        char v[8];
        snprintf(v, sizeof v, "s%d", i);
        REQUIRE_RC(GOFKA_OK, gofka_producer_send(prod, topic, 0, NULL, -1, (const uint8_t *)v, (int32_t)strlen(v),
                                                 NULL, 0, -1, 15000, NULL, &err), &err);
    }
    CHECK_RC(GOFKA_OK, gofka_producer_close(prod, 5000, &err), &err);

    /* a share consumer needs a group.id and a valid mode */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_new(cfg, &c, &err), &err);
    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\ngroup.id=%s\nshare.acknowledgement.mode=sometimes\n",
             harness_brokers(), group);
    CHECK(gofka_share_consumer_new(cfg, &c, &err) != GOFKA_OK);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_new(NULL, &c, &err), &err);
    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\ngroup.id=%s\nshare.acknowledgement.mode=explicit\n"
             "fetch.max.wait.ms=200\n", harness_brokers(), group);
    REQUIRE_RC(GOFKA_OK, gofka_share_consumer_new(cfg, &c, &err), &err);

    {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        /* before subscribe; bad arguments */
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_poll(c, 10, 0, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_subscribe(c, NULL, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_subscribe(c, "", &err), &err);
        REQUIRE_RC(GOFKA_OK, gofka_share_consumer_subscribe(c, topic, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_poll(c, 0, 0, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_poll(c, 10, 0, NULL, &len, &count, &err), &err);
        CHECK(buf == NULL);
    }

    /* first delivery: release s0, accept the others */
    rec_t got[10];
    int seen = 0;
    int64_t released = -1;
    for (int tries = 0; tries < 120 && seen < 3; tries++) {
        int n = poll_once(c, got, &err);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++, seen++) {
            CHECK(got[i].delivery_count == 1);
            int32_t type = GOFKA_ACK_ACCEPT;
            if (strcmp(got[i].value, "s0") == 0) {
                type = GOFKA_ACK_RELEASE;
                released = got[i].offset;
            }
            /* a type other than accept, release and reject */
            CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
                     gofka_share_consumer_acknowledge(c, topic, got[i].partition, got[i].offset, 0, &err), &err);
            CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
                     gofka_share_consumer_acknowledge(c, topic, got[i].partition, got[i].offset, 258, &err), &err);
            if (i == 0 && n > 1) {
                /* explicit mode: a poll with records unacknowledged is refused */
                uint8_t *buf = NULL;
                size_t len = 0;
                int32_t count = 0;
                CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_poll(c, 10, 0, &buf, &len, &count, &err), &err);
                CHECK(strstr(err.message, "not acknowledged") != NULL);
            }
            CHECK_RC(GOFKA_OK, gofka_share_consumer_acknowledge(c, topic, got[i].partition, got[i].offset, type, &err), &err);
            /* once only */
            CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
                     gofka_share_consumer_acknowledge(c, topic, got[i].partition, got[i].offset, type, &err), &err);
        }
    }
    REQUIRE(seen == 3 && released >= 0);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_acknowledge(c, topic, 0, 1000, GOFKA_ACK_ACCEPT, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_share_consumer_acknowledge(c, NULL, 0, 0, GOFKA_ACK_ACCEPT, &err), &err);

    {
        /* commit: one result per acknowledgement */
        uint8_t *buf = NULL;
        size_t len = 0;
        REQUIRE_RC(GOFKA_OK, gofka_share_consumer_commit(c, 15000, &buf, &len, &err), &err);
        REQUIRE(buf != NULL && len >= 4);
        CHECK(rd_u32(buf) == 3);
        const uint8_t *q = buf + 4;
        int releases = 0;
        for (int i = 0; i < 3 && q < buf + len; i++) {
            uint32_t tl = rd_u32(q);
            CHECK(tl == strlen(topic) && memcmp(q + 4, topic, tl) == 0);
            q += 4 + tl;
            int64_t off = (int64_t)rd_u64(q + 4);
            int32_t type = (int32_t)rd_u32(q + 12), code = (int32_t)rd_u32(q + 16);
            CHECK(code == 0);
            if (type == GOFKA_ACK_RELEASE) {
                releases++;
                CHECK(off == released);
            } else {
                CHECK(type == GOFKA_ACK_ACCEPT);
            }
            q += 20;
        }
        CHECK(releases == 1 && q == buf + len);
        gofka_free(buf);
    }

    /* the released record comes back, delivery count 2 */
    int back = 0;
    for (int tries = 0; tries < 120 && !back; tries++) {
        int n = poll_once(c, got, &err);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++) {
            CHECK(got[i].offset == released && got[i].delivery_count == 2);
            back = 1;
            CHECK_RC(GOFKA_OK, gofka_share_consumer_acknowledge(c, topic, got[i].partition, got[i].offset,
                                                                GOFKA_ACK_ACCEPT, &err), &err);
        }
    }
    CHECK(back);

    {
        /* nothing left: a poll returns nothing within its timeout (bound:
         * a few times it, not a performance check) */
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = -1;
        double t0 = now_s();
        CHECK_RC(GOFKA_OK, gofka_share_consumer_poll(c, 10, 300, &buf, &len, &count, &err), &err);
        CHECK(buf == NULL && count == 0);
        CHECK(now_s() - t0 < 5.0);
    }

    CHECK_RC(GOFKA_OK, gofka_share_consumer_close(c, 15000, &err), &err);
    {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_share_consumer_poll(c, 10, 0, &buf, &len, &count, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_share_consumer_acknowledge(c, topic, 0, 0, GOFKA_ACK_ACCEPT, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_share_consumer_commit(c, 1000, &buf, &len, &err), &err);
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_share_consumer_close(c, 1000, &err), &err);
        /* another kind of handle */
        CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_close(c, 1000, &err), &err);
    }
}

static void tests(void) {
    RUN(test_share_consumer);
}

int main(void) {
    return harness_main(tests);
}
