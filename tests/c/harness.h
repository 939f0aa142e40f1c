/*
 * harness.h - the minimal test harness of every C test binary (implemented
 * in harness.c): test_gofka.c with the C++ tests (test_cxx.cpp), and each
 * other tests/c/test_*.c.
 *
 * A test is a void function run by harness_run(); CHECK records a failure
 * and goes on, REQUIRE records one and returns from the test. The binary
 * prints "ok"/"FAIL" per test and "N passed, N failed" as its last line,
 * and exits non-zero when a test failed.
 */
#ifndef GOFKA_TEST_HARNESS_H
#define GOFKA_TEST_HARNESS_H

#include <stdint.h>

#include "gofka.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a failure of the running test. detail may be NULL. */
void harness_fail(const char *file, int line, const char *expr, const char *detail);

/* Records a failure described by `what`, with the error struct's code,
 * name and message (err may be NULL). */
void harness_fail_err(const char *file, int line, const char *what, const gofka_error_t *err);

/* Records a failure when a call returned `got` instead of `want`, with the
 * error struct's name and message (err may be NULL). Returns 1 on a match. */
int harness_check_rc(const char *file, int line, const char *expr, int32_t want, int32_t got,
                     const gofka_error_t *err);

/* Runs one test and reports it. */
void harness_run(const char *name, void (*fn)(void));

/* The bootstrap string of the cluster under test (GOFKA_BROKERS or the
 * dev cluster main() started through the C API). */
const char *harness_brokers(void);

/* The binary's main: finds the cluster under test, runs tests (a function
 * of harness_run calls), prints "N passed, N failed" last and returns the
 * exit status. */
int harness_main(void (*tests)(void));

/* A fresh topic name "gofka-c-<prefix>-<pid>-<n>" in a static buffer of
 * the caller's (size >= 96). */
void harness_topic(char *buf, size_t size, const char *prefix);

/* The C++ tests (test_cxx.cpp). */
void cxx_tests(void);

#ifdef __cplusplus
}
#endif

#define CHECK(cond) \
    do { \
        if (!(cond)) harness_fail(__FILE__, __LINE__, #cond, NULL); \
    } while (0)

#define REQUIRE(cond) \
    do { \
        if (!(cond)) { \
            harness_fail(__FILE__, __LINE__, #cond, NULL); \
            return; \
        } \
    } while (0)

/* CHECK_RC(want, call, &err): the call returns `want` (and err says so). */
#define CHECK_RC(want, call, errp) \
    ((void)harness_check_rc(__FILE__, __LINE__, #call, (want), (call), (errp)))

#define RUN(fn) harness_run(#fn, fn)

#define REQUIRE_RC(want, call, errp) \
    do { \
        if (!harness_check_rc(__FILE__, __LINE__, #call, (want), (call), (errp))) return; \
    } while (0)

#endif /* GOFKA_TEST_HARNESS_H */
