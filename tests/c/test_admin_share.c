/*
 * test_admin_share.c - share-group administration through gofka_admin_call
 * (the list_groups type filter, describe_share_groups,
 * list_share_group_offsets, alter_share_group_offsets,
 * delete_share_group_offsets) and their errors.
 *
 * The share group is made by alter_share_group_offsets, which creates an
 * empty share group holding the offsets (no share consumer needed).
 *
 * A binary of its own with the shared harness (harness.c; make test-c):
 *   cc -std=c11 -Iinclude tests/c/test_admin_share.c tests/c/harness.c \
 *      -Lpython/gofka -lgofka -Wl,-rpath,$PWD/python/gofka -o test_admin_share
 * It uses GOFKA_BROKERS, else a dev cluster started through the C API.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "harness.h"

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* call runs op with args and returns its JSON result (freed by the
 * caller with gofka_free), or NULL after recording a failure. */
static char *call(gofka_handle_t a, const char *op, const char *args) {
    gofka_error_t err;
    char *json = NULL;
    size_t len = 0;
    if (!harness_check_rc(__FILE__, __LINE__, op, GOFKA_OK, gofka_admin_call(a, op, args, 30000, &json, &len, &err),
                          &err))
        return NULL;
    return json;
}

static void test_share_group_admin(void) {
    gofka_error_t err;
    gofka_handle_t a = 0;
    char topic[96], group[128], cfg[1400], args[1024], expect[512];
    char *json = NULL;
    size_t len = 0;
    harness_topic(topic, sizeof topic, "share-admin");
    snprintf(group, sizeof group, "%s-group", topic);
    snprintf(cfg, sizeof cfg, "bootstrap.servers=%s\nclient.id=gofka-c-share-admin\n", harness_brokers());
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(cfg, &a, &err), &err);

    snprintf(args, sizeof args,
             "{\"topics\": [{\"name\": \"%s\", \"num_partitions\": 2, \"replication_factor\": 1}]}", topic);
    gofka_free(call(a, "create_topics", args));

    /* Altering the offsets of a group that does not exist creates it. */
    snprintf(args, sizeof args,
             "{\"group\": \"%s\", \"offsets\": [{\"topic\": \"%s\", \"partition\": 1, \"start_offset\": 0}]}", group,
             topic);
    json = call(a, "alter_share_group_offsets", args);
    CHECK(json != NULL && strcmp(json, "null") == 0);
    gofka_free(json);

    json = call(a, "list_groups", "{\"types\": [\"share\"]}");
    snprintf(expect, sizeof expect, "\"group_id\":\"%s\",\"protocol_type\":\"share\",\"state\":\"Empty\",\"type\":\"share\"",
             group);
    CHECK(contains(json, expect));
    gofka_free(json);
    json = call(a, "list_groups", "{\"types\": [\"consumer\", \"classic\"]}");
    CHECK(json != NULL && !contains(json, group));
    gofka_free(json);

    snprintf(args, sizeof args, "{\"groups\": [\"%s\"]}", group);
    json = call(a, "describe_share_groups", args);
    snprintf(expect, sizeof expect, "\"group_id\":\"%s\",\"state\":\"Empty\"", group);
    CHECK(contains(json, expect));
    CHECK(contains(json, "\"members\":[]"));
    CHECK(contains(json, "\"coordinator\":{\"id\":"));
    gofka_free(json);
    json = call(a, "describe_groups", args); /* the generic describe knows share groups */
    CHECK(contains(json, "\"type\":\"share\""));
    gofka_free(json);

    snprintf(args, sizeof args, "{\"group\": \"%s\"}", group);
    json = call(a, "list_share_group_offsets", args);
    snprintf(expect, sizeof expect, "[{\"topic\":\"%s\",\"partition\":1,\"start_offset\":0,", topic);
    CHECK(contains(json, expect));
    CHECK(contains(json, "\"lag\":0}]"));
    gofka_free(json);

    snprintf(args, sizeof args, "{\"group\": \"%s\", \"topics\": [\"%s\"]}", group, topic);
    json = call(a, "delete_share_group_offsets", args);
    CHECK(json != NULL && strcmp(json, "null") == 0);
    gofka_free(json);
    snprintf(args, sizeof args, "{\"group\": \"%s\", \"partitions\": [{\"topic\": \"%s\", \"partition\": 1}]}", group,
             topic);
    json = NULL;
    int32_t rc = gofka_admin_call(a, "list_share_group_offsets", args, 30000, &json, &len, &err);
    /* The group may go with its last state (GROUP_ID_NOT_FOUND); if it
     * stays, the partition has no start offset. */
    if (rc != 69) {
        CHECK_RC(GOFKA_OK, rc, &err);
        CHECK(contains(json, "\"start_offset\":-1"));
    }
    gofka_free(json);
    json = NULL;

    /* Errors: a missing group, a bad type, bad arguments. */
    snprintf(args, sizeof args, "{\"groups\": [\"%s-missing\"]}", group);
    CHECK_RC(69 /* GROUP_ID_NOT_FOUND */, gofka_admin_call(a, "describe_share_groups", args, 30000, &json, &len, &err),
             &err);
    CHECK(json == NULL);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, gofka_admin_call(a, "list_groups", "{\"types\": [\"shared\"]}", 5000, &json, &len, &err),
             &err);
    CHECK(contains(err.message, "shared"));
    snprintf(args, sizeof args, "{\"group\": \"%s\", \"offsets\": []}", group);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT,
             gofka_admin_call(a, "alter_share_group_offsets", args, 5000, &json, &len, &err), &err);
    snprintf(args, sizeof args, "{\"group\": \"%s\", \"topic\": \"%s\"}", group, topic);
    CHECK_RC(GOFKA_ERR_INVALID_ARGUMENT, /* "topics" is the argument */
             gofka_admin_call(a, "delete_share_group_offsets", args, 5000, &json, &len, &err), &err);
    CHECK(json == NULL);
    CHECK_RC(GOFKA_OK, gofka_admin_close(a, &err), &err);
}

static void all_tests(void) { RUN(test_share_group_admin); }

int main(void) { return harness_main(all_tests); }
