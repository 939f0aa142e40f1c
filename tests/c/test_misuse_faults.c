/*
 * test_misuse_faults.c - the part of the C misuse matrix (docs/reliability.md)
 * that tests/c/test_gofka.c does not cover: huge lengths and values,
 * invalid topic names, a handle closed by another thread while a call on it
 * blocks, and 8 threads sharing one producer, consumer and admin handle
 * while one of them closes it. Every call must return its documented code,
 * never crash or hang.
 *
 * A binary of its own with the shared harness (harness.c; make test-c):
 *   cc -std=c11 -Iinclude tests/c/test_misuse_faults.c tests/c/harness.c \
 *      -Lpython/gofka -lgofka -lpthread -Wl,-rpath,$PWD/python/gofka -o test_misuse_faults
 * It uses GOFKA_BROKERS, else a dev cluster started through the C API.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static gofka_handle_t new_client(const char *kind, const char *servers, const char *extra) {
    char cfg[1400];
    gofka_error_t err;
    gofka_handle_t h = 0;
    int32_t rc;
    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\nrequest.timeout.ms=10000\n%s", servers, extra ? extra : "");
    if (strcmp(kind, "producer") == 0)
        rc = gofka_producer_new(cfg, &h, &err);
    else if (strcmp(kind, "consumer") == 0)
        rc = gofka_consumer_new(cfg, &h, &err);
    else
        rc = gofka_admin_new(cfg, &h, &err);
    if (rc != GOFKA_OK) {
        harness_fail_err(__FILE__, __LINE__, "creating a client", &err);
        return 0;
    }
    return h;
}

static void topic_name(char *buf, size_t size, const char *prefix) {
    static unsigned n;
    snprintf(buf, size, "gofka-cmf-%s-%d-%u", prefix, (int)getpid(), ++n);
}

/* A listening socket nobody reads: connections succeed, requests never get
 * an answer. Returns the fd; *addr receives "127.0.0.1:port". */
static int black_hole(char *addr, size_t size) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    snprintf(addr, size, "127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

/* ------------------------------------------------------------------------ */

static void test_huge_lengths(void) {
    gofka_error_t err;
    char topic[96];
    int64_t offset = 7;
    static uint8_t big[2 << 20];
    uint8_t rec[32];
    gofka_handle_t p = new_client("producer", harness_brokers(), NULL);
    REQUIRE(p != 0);
    topic_name(topic, sizeof topic, "huge");
    /* lengths beyond what any buffer can be: refused before any read */
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send(p, topic, 0, NULL, -1, big, (int64_t)1 << 40, NULL, 0, -1, 5000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send(p, topic, 0, big, INT64_MAX, big, 1, NULL, 0, -1, 5000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send(p, topic, 0, NULL, -7, big, 1, NULL, 0, -1, 5000, &offset, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send(p, topic, 0, NULL, -1, big, 1, big, SIZE_MAX, -1, 5000, &offset, &err), &err);
    /* a 2 MiB value: larger than max.request.size (1 MiB); no offset is
     * stored on failure */
    offset = 7;
    CHECK_RC(-110 /* MESSAGE_TOO_LARGE_LOCAL */,
             gofka_producer_send(p, topic, 0, NULL, -1, big, sizeof big, NULL, 0, -1, 5000, &offset, &err), &err);
    CHECK(offset == 7);
    /* a batch announcing INT32_MAX records in 32 bytes */
    memset(rec, 0xff, sizeof rec);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_batch(p, topic, 0, rec, sizeof rec, INT32_MAX, 5000, NULL, &err), &err);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_producer_send_batch(p, topic, 0, rec, SIZE_MAX, 1, 5000, NULL, &err), &err);
    /* the largest partition number: it does not exist */
    CHECK_RC(-112 /* PARTITION_NOT_FOUND */,
             gofka_producer_send(p, topic, INT32_MAX, NULL, -1, big, 1, NULL, 0, -1, 10000, &offset, &err), &err);
    /* the producer still works */
    CHECK_RC(GOFKA_OK, gofka_producer_send(p, topic, 0, NULL, -1, big, 1, NULL, 0, -1, 10000, &offset, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 10000, &err), &err);
}

static void test_invalid_topic_names(void) {
    static const char *names[] = {"bad topic!", ".", "..", "a/b", "caf\xc3\xa9", "t\x01",
                                  /* 250 characters */
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
    gofka_error_t err;
    int64_t offset;
    char args[512];
    char *json = NULL;
    gofka_handle_t p = new_client("producer", harness_brokers(), NULL);
    gofka_handle_t a = new_client("admin", harness_brokers(), NULL);
    REQUIRE(p != 0 && a != 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int32_t rc = gofka_producer_send(p, names[i], 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 10000, &offset, &err);
        if (rc != 17 /* INVALID_TOPIC_EXCEPTION */ && rc != GOFKA_ERR_INVALID_ARGUMENT) {
            char m[400];
            snprintf(m, sizeof m, "send to topic \"%.40s\" returned %d, want INVALID_TOPIC_EXCEPTION (17)", names[i], (int)rc);
            harness_fail_err(__FILE__, __LINE__, m, rc ? &err : NULL);
        }
        if (strchr(names[i], '"') == NULL && strchr(names[i], '\x01') == NULL) {
            snprintf(args, sizeof args, "{\"topics\": [{\"name\": \"%s\", \"num_partitions\": 1, \"replication_factor\": 1}]}",
                     names[i]);
            rc = gofka_admin_call(a, "create_topics", args, 10000, &json, NULL, &err);
            if (json) gofka_free(json);
            json = NULL;
            if (rc != 17 && rc != GOFKA_ERR_INVALID_ARGUMENT) {
                char m[400];
                snprintf(m, sizeof m, "create_topic \"%.40s\" returned %d, want INVALID_TOPIC_EXCEPTION (17)", names[i], (int)rc);
                harness_fail_err(__FILE__, __LINE__, m, rc ? &err : NULL);
            }
        }
    }
    CHECK_RC(GOFKA_OK, gofka_producer_close(p, 10000, &err), &err);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
}

/* ---- close from another thread while a call blocks ---- */

struct blocked {
    const char *kind;
    gofka_handle_t h;
    int32_t rc;
    double took;
    char topic[96];
};

static void *blocked_call(void *arg) {
    struct blocked *b = (struct blocked *)arg;
    gofka_error_t err;
    double start = now_s();
    if (strcmp(b->kind, "producer") == 0) {
        int64_t offset;
        b->rc = gofka_producer_send(b->h, b->topic, 0, NULL, -1, (const uint8_t *)"v", 1, NULL, 0, -1, 20000, &offset, &err);
    } else if (strcmp(b->kind, "consumer") == 0) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        b->rc = gofka_consumer_poll(b->h, 10, 20000, &buf, &len, &count, &err);
        if (buf) gofka_free(buf);
    } else {
        char *json = NULL;
        b->rc = gofka_admin_list_topics(b->h, 0, 20000, &json, NULL, &err);
        if (json) gofka_free(json);
    }
    b->took = now_s() - start;
    return NULL;
}

static void close_while_blocked(const char *kind) {
    gofka_error_t err;
    char hole[64];
    pthread_t tid;
    struct blocked b;
    double closing, close_took;
    int fd = black_hole(hole, sizeof hole);
    REQUIRE(fd >= 0);
    memset(&b, 0, sizeof b);
    b.kind = kind;
    topic_name(b.topic, sizeof b.topic, "blocked");
    /* the consumer waits on a real, empty partition; the others on the hole */
    b.h = new_client(kind, strcmp(kind, "consumer") == 0 ? harness_brokers() : hole, NULL);
    REQUIRE(b.h != 0);
    if (strcmp(kind, "consumer") == 0) {
        uint8_t parts[128];
        int32_t n = (int32_t)strlen(b.topic), one = 1, zero = 0;
        memcpy(parts, &one, 4);
        memcpy(parts + 4, &n, 4);
        memcpy(parts + 8, b.topic, (size_t)n);
        memcpy(parts + 8 + n, &zero, 4);
        CHECK_RC(GOFKA_OK, gofka_consumer_assign(b.h, parts, (size_t)(12 + n), &err), &err);
    }
    REQUIRE(pthread_create(&tid, NULL, blocked_call, &b) == 0);
    sleep_ms(500);
    closing = now_s();
    if (strcmp(kind, "producer") == 0)
        gofka_producer_close(b.h, 2000, &err);
    else if (strcmp(kind, "consumer") == 0)
        gofka_consumer_close(b.h, 2000, &err);
    else
        gofka_admin_close(b.h, &err);
    close_took = now_s() - closing;
    pthread_join(tid, NULL);
    close(fd);
    /* the blocked call ends soon after the close, with CLIENT_CLOSED (or
     * INVALID_HANDLE, or the timeout of the close), never after its own
     * 20 s timeout */
    CHECK(b.rc == GOFKA_ERR_CLIENT_CLOSED || b.rc == GOFKA_ERR_INVALID_HANDLE || b.rc == GOFKA_ERR_TIMED_OUT ||
          b.rc == GOFKA_OK);
    if (b.took > 0.5 + 5.0 || close_took > 5.0) {
        char m[200];
        snprintf(m, sizeof m, "%s: the blocked call took %.1f s, close %.1f s (rc %d)", kind, b.took, close_took, (int)b.rc);
        harness_fail_err(__FILE__, __LINE__, m, NULL);
    }
}

static void test_close_from_another_thread(void) {
    close_while_blocked("producer");
    close_while_blocked("consumer");
    close_while_blocked("admin");
}

/* ---- 8 threads share a handle; the eighth closes it ---- */

#define THREADS 8

struct sharer {
    const char *kind;
    gofka_handle_t h;
    const char *topic;
    int index;
    int ok, closed, bad;
    int32_t bad_rc;
};

static void *share_loop(void *arg) {
    struct sharer *s = (struct sharer *)arg;
    gofka_error_t err;
    if (s->index == THREADS - 1) {
        sleep_ms(300);
        if (strcmp(s->kind, "producer") == 0)
            gofka_producer_close(s->h, 10000, &err);
        else if (strcmp(s->kind, "consumer") == 0)
            gofka_consumer_close(s->h, 10000, &err);
        else
            gofka_admin_close(s->h, &err);
        return NULL;
    }
    for (int i = 0; i < 400; i++) {
        int32_t rc;
        if (strcmp(s->kind, "producer") == 0) {
            int64_t offset;
            rc = gofka_producer_send(s->h, s->topic, 0, NULL, -1, (const uint8_t *)"s", 1, NULL, 0, -1, 10000, &offset, &err);
        } else if (strcmp(s->kind, "consumer") == 0) {
            uint8_t *buf = NULL;
            size_t len = 0;
            int32_t count = 0;
            rc = gofka_consumer_poll(s->h, 7, 20, &buf, &len, &count, &err);
            if (buf) gofka_free(buf);
        } else {
            char *json = NULL;
            rc = gofka_admin_list_topics(s->h, 0, 10000, &json, NULL, &err);
            if (json) gofka_free(json);
        }
        if (rc == GOFKA_OK) {
            s->ok++;
        } else if (rc == GOFKA_ERR_CLIENT_CLOSED || rc == GOFKA_ERR_INVALID_HANDLE) {
            s->closed++;
            return NULL;
        } else {
            s->bad++;
            s->bad_rc = rc;
            return NULL;
        }
    }
    return NULL;
}

static void share_and_close(const char *kind) {
    gofka_error_t err;
    pthread_t tids[THREADS];
    struct sharer s[THREADS];
    char topic[96];
    int64_t offset;
    gofka_handle_t h = new_client(kind, harness_brokers(), NULL);
    REQUIRE(h != 0);
    topic_name(topic, sizeof topic, "share");
    {
        gofka_handle_t p = new_client("producer", harness_brokers(), NULL);
        REQUIRE(p != 0);
        CHECK_RC(GOFKA_OK, gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)"seed", 4, NULL, 0, -1, 10000, &offset, &err), &err);
        gofka_producer_close(p, 10000, &err);
    }
    if (strcmp(kind, "consumer") == 0) {
        uint8_t parts[128];
        int32_t n = (int32_t)strlen(topic), one = 1, zero = 0;
        memcpy(parts, &one, 4);
        memcpy(parts + 4, &n, 4);
        memcpy(parts + 8, topic, (size_t)n);
        memcpy(parts + 8 + n, &zero, 4);
        CHECK_RC(GOFKA_OK, gofka_consumer_assign(h, parts, (size_t)(12 + n), &err), &err);
    }
    for (int t = 0; t < THREADS; t++) {
        memset(&s[t], 0, sizeof s[t]);
        s[t].kind = kind;
        s[t].h = h;
        s[t].topic = topic;
        s[t].index = t;
        REQUIRE(pthread_create(&tids[t], NULL, share_loop, &s[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(tids[t], NULL);
    for (int t = 0; t < THREADS - 1; t++) {
        if (s[t].bad) {
            char m[200];
            snprintf(m, sizeof m, "%s thread %d: a call returned %d (want OK, CLIENT_CLOSED or INVALID_HANDLE)", kind, t,
                     (int)s[t].bad_rc);
            harness_fail_err(__FILE__, __LINE__, m, NULL);
        }
    }
}

static void test_eight_threads_share_and_close(void) {
    share_and_close("producer");
    share_and_close("consumer");
    share_and_close("admin");
}

static void all_tests(void) {
    RUN(test_huge_lengths);
    RUN(test_invalid_topic_names);
    RUN(test_close_from_another_thread);
    RUN(test_eight_threads_share_and_close);
}

int main(void) { return harness_main(all_tests); }
