/*
 * harness.c - the implementation of harness.h, linked into every C test
 * binary (test_gofka with test_cxx.cpp, and each other tests/c/test_*.c):
 * failure bookkeeping, the per-test report, and harness_main, which finds
 * the cluster under test (GOFKA_BROKERS, else a dev cluster started through
 * the C API), runs the binary's tests and prints "N passed, N failed" last.
 * Single-threaded bookkeeping: tests run one after the other; a test's own
 * threads report through CHECK from any thread only while it waits for them.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

static int passed, failed, current_failures;
static char brokers[1024];
static unsigned topic_counter;

void harness_fail(const char *file, int line, const char *expr, const char *detail) {
    current_failures++;
    fprintf(stderr, "  %s:%d: check failed: %s%s%s\n", file, line, expr, detail ? ": " : "", detail ? detail : "");
}

void harness_fail_err(const char *file, int line, const char *what, const gofka_error_t *err) {
    char detail[1200];
    if (!err) {
        harness_fail(file, line, what, NULL);
        return;
    }
    snprintf(detail, sizeof detail, "%d %s: %s", (int)err->code, err->name, err->message);
    harness_fail(file, line, what, detail);
}

int harness_check_rc(const char *file, int line, const char *expr, int32_t want, int32_t got,
                     const gofka_error_t *err) {
    char detail[1200];
    if (got != want) {
        snprintf(detail, sizeof detail, "returned %d, want %d (%s: %s)", (int)got, (int)want,
                 err ? err->name : "?", err ? err->message : "?");
        harness_fail(file, line, expr, detail);
        return 0;
    }
    if (err && err->code != got) {
        snprintf(detail, sizeof detail, "err->code %d differs from the return value %d", (int)err->code, (int)got);
        harness_fail(file, line, expr, detail);
        return 0;
    }
    return 1;
}

void harness_run(const char *name, void (*fn)(void)) {
    current_failures = 0;
    fn();
    if (current_failures == 0) {
        passed++;
        printf("ok   %s\n", name);
    } else {
        failed++;
        printf("FAIL %s\n", name);
    }
    fflush(stdout);
}

const char *harness_brokers(void) { return brokers; }

void harness_topic(char *buf, size_t size, const char *prefix) {
    snprintf(buf, size, "gofka-c-%s-%ld-%u", prefix, (long)getpid(), ++topic_counter);
}

int harness_main(void (*tests)(void)) {
    gofka_handle_t cluster = 0;
    gofka_error_t err;
    const char *env = getenv("GOFKA_BROKERS");

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (env && *env) {
        snprintf(brokers, sizeof brokers, "%s", env);
        printf("# cluster: GOFKA_BROKERS=%s\n", brokers);
    } else {
        char *list = NULL;
        if (gofka_devcluster_new(1, 0, &cluster, &err) != GOFKA_OK ||
            gofka_devcluster_brokers(cluster, &list, NULL, &err) != GOFKA_OK) {
            fprintf(stderr, "cannot start a dev cluster: %s: %s\n", err.name, err.message);
            printf("0 passed, 1 failed\n");
            return 1;
        }
        snprintf(brokers, sizeof brokers, "%s", list);
        gofka_free(list);
        printf("# cluster: dev cluster at %s\n", brokers);
    }
    tests();
    if (cluster) gofka_devcluster_close(cluster, NULL);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
