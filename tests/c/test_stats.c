/*
 * test_stats.c - the statistics calls of the C ABI (gofka_producer_stats,
 * gofka_consumer_stats, gofka_admin_stats): each returns one well-formed
 * JSON object with the documented fields (docs/statistics.md), whose
 * counters move with the traffic, and the usual errors for bad handles and
 * NULL outputs.
 *
 * A binary of its own with the shared harness (harness.c; make test-c):
 *   cc -std=c11 -Iinclude tests/c/test_stats.c tests/c/harness.c \
 *      -Lpython/gofka -lgofka -Wl,-rpath,$PWD/python/gofka -o test_stats
 * It uses GOFKA_BROKERS, else a dev cluster started through the C API.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- a minimal JSON checker: is the text one well-formed value? ---- */

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_string(const char *p) {
    if (*p != '"') return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            p++;
            if (!*p) return NULL;
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_value(const char *p, int depth) {
    if (depth > 32) return NULL;
    p = ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (object) {
                p = json_string(ws(p));
                if (!p) return NULL;
                p = ws(p);
                if (*p++ != ':') return NULL;
            }
            p = json_value(p, depth + 1);
            if (!p) return NULL;
            p = ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    if (*p == '"') return json_string(p);
    if (*p == '-' || isdigit((unsigned char)*p)) {
        char *end;
        strtod(p, &end);
        return end == p ? NULL : end;
    }
    if (!strncmp(p, "true", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    if (!strncmp(p, "null", 4)) return p + 4;
    return NULL;
}

static int json_ok(const char *s) {
    const char *end = json_value(s, 0);
    return end != NULL && *ws(end) == '\0';
}

/* The integer value of the first "key": in s, or -999 when absent. */
static long long json_int(const char *s, const char *key) {
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s, pat);
    if (!p) return -999;
    return strtoll(p + strlen(pat), NULL, 10);
}

static int contains(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

static void config_for(char *buf, size_t size, const char *extra) {
    snprintf(buf, size, "bootstrap.servers=%s\nclient.id=gofka-c-stats\n%s", harness_brokers(), extra ? extra : "");
}

static void topic_name(char *buf, size_t size, const char *what) {
    static unsigned n;
    snprintf(buf, size, "gofka-c-stats-%s-%ld-%u-%ld", what, (long)getpid(), ++n, (long)time(NULL));
}

/* ---- tests ---- */

static void test_json_checker(void) {
    /* The checker must be able to fail, or the tests below prove nothing. */
    CHECK(json_ok("{\"a\":[1,2,{\"b\":\"x\"}],\"c\":true,\"d\":null}"));
    CHECK(!json_ok("{\"a\":}"));
    CHECK(!json_ok("{\"a\":1"));
    CHECK(!json_ok("{\"a\":1} x"));
    CHECK(json_int("{\"x\":12,\"y\":-3}", "y") == -3);
    CHECK(json_int("{\"x\":12}", "z") == -999);
}

static void test_producer_stats(void) {
    gofka_error_t err;
    char cfg[1400], topic[128];
    gofka_handle_t p = 0;
    char *json = NULL;
    size_t len = 0;
    int64_t offset = -1;
    config_for(cfg, sizeof cfg, NULL);
    topic_name(topic, sizeof topic, "p");
    REQUIRE_RC(GOFKA_OK, gofka_producer_new(cfg, &p, &err), &err);

    REQUIRE_RC(GOFKA_OK, gofka_producer_stats(p, &json, &len, &err), &err);
    REQUIRE(json != NULL);
    CHECK(strlen(json) == len);
    CHECK(json_ok(json));
    CHECK(contains(json, "\"type\":\"producer\""));
    CHECK(contains(json, "\"client_id\":\"gofka-c-stats\""));
    CHECK(contains(json, "\"partitions\":[]"));
    CHECK(json_int(json, "records") == 0);
    CHECK(json_int(json, "buffer_limit") > 0);
    gofka_free(json);

    for (int i = 0; i < 5; i++) {
        CHECK_RC(GOFKA_OK,
                 gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 15000, &offset, &err),
                 &err);
    }
    json = NULL;
    REQUIRE_RC(GOFKA_OK, gofka_producer_stats(p, &json, NULL, &err), &err); /* len_out may be NULL */
    REQUIRE(json != NULL);
    CHECK(json_ok(json));
    /* records counts a resent batch again (a fresh topic's first batch can
     * be refused and retried on a real broker): exact without retries */
    CHECK(json_int(json, "records") >= 5);
    CHECK(json_int(json, "retries") > 0 || json_int(json, "records") == 5);
    CHECK(json_int(json, "acknowledged") == 5);
    CHECK(json_int(json, "failed") == 0);
    CHECK(contains(json, topic));
    CHECK(json_int(json, "records_sent") == json_int(json, "records")); /* one partition */
    CHECK(json_int(json, "requests_sent") > 0);
    CHECK(json_int(json, "rtt_samples") > 0);
    CHECK(contains(json, "\"state\":\"up\""));
    gofka_free(json);

    /* Misuse: NULL output, wrong-kind and closed handles. */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_producer_stats(p, NULL, &len, &err), &err);
    json = NULL;
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_consumer_stats(p, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_admin_stats(p, &json, &len, &err), &err);
    CHECK(json == NULL);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 15000, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_stats(p, &json, &len, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_stats(0, &json, &len, NULL), NULL);
    CHECK(json == NULL);
}

static void test_consumer_and_admin_stats(void) {
    gofka_error_t err;
    char cfg[1400], topic[128], extra[256];
    gofka_handle_t p = 0, c = 0, a = 0;
    char *json = NULL;
    size_t len = 0;
    int64_t offset = -1;
    int got = 0;
    config_for(cfg, sizeof cfg, NULL);
    topic_name(topic, sizeof topic, "c");
    REQUIRE_RC(GOFKA_OK, gofka_producer_new(cfg, &p, &err), &err);
    for (int i = 0; i < 4; i++) {
        CHECK_RC(GOFKA_OK,
                 gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 15000, &offset, &err),
                 &err);
    }
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 15000, &err), &err);

    snprintf(extra, sizeof extra, "group.id=%s-g\nauto.offset.reset=earliest\n", topic);
    config_for(cfg, sizeof cfg, extra);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_new(cfg, &c, &err), &err);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_subscribe(c, topic, NULL, 30000, &err), &err);
    for (int tries = 0; tries < 60 && got < 4; tries++) {
        uint8_t *buf = NULL;
        size_t blen = 0;
        int32_t count = 0;
        REQUIRE_RC(GOFKA_OK, gofka_consumer_poll(c, 100, 500, &buf, &blen, &count, &err), &err);
        got += count;
        gofka_free(buf);
    }
    CHECK(got == 4);
    REQUIRE_RC(GOFKA_OK, gofka_consumer_stats(c, &json, &len, &err), &err);
    REQUIRE(json != NULL);
    CHECK(strlen(json) == len);
    CHECK(json_ok(json));
    CHECK(contains(json, "\"type\":\"consumer\""));
    CHECK(contains(json, topic));
    CHECK(json_int(json, "fetched_records") == 4);
    CHECK(json_int(json, "position") == 4);
    CHECK(json_int(json, "rebalances") >= 1);
    CHECK(contains(json, "\"lag\":"));
    CHECK(contains(json, "\"high_watermark\":"));
    CHECK(contains(json, "\"prefetched_bytes\":"));
    gofka_free(json);
    CHECK_RC(GOFKA_OK, gofka_consumer_close(c, 15000, &err), &err);

    config_for(cfg, sizeof cfg, NULL);
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &a, &err), &err);
    json = NULL;
    REQUIRE_RC(GOFKA_OK, gofka_admin_stats(a, &json, &len, &err), &err);
    REQUIRE(json != NULL);
    CHECK(json_ok(json));
    CHECK(contains(json, "\"type\":\"admin\""));
    CHECK(contains(json, "\"brokers\":[]")); /* no connection yet */
    gofka_free(json);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
}

static void all_tests(void) {
    RUN(test_json_checker);
    RUN(test_producer_stats);
    RUN(test_consumer_and_admin_stats);
}

int main(void) { return harness_main(all_tests); }
