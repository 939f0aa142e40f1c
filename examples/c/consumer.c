/*
 * consumer.c - read a Kafka topic as a member of a consumer group with
 * libgofka, printing one line per record.
 *
 *   cc consumer.c $(pkg-config --cflags --libs gofka) -o gofka-consumer
 *   GOFKA_BROKERS=localhost:9092 ./gofka-consumer my-topic 10
 *
 * It joins the group GOFKA_GROUP (default "gofka-c-example") subscribed to
 * TOPIC, starting from the earliest offset when the group has no committed
 * offset, and polls until MAX records arrived (default: until 5 s pass
 * without any). Offsets are auto-committed; gofka_consumer_close commits
 * the rest and leaves the group. Each poll returns many records in one
 * packed buffer (the messages format of gofka.h), decoded below: fixed-size
 * heads whose key/value ranges point into the same buffer, no copies.
 *
 * Without GOFKA_BROKERS the example starts an in-process dev cluster and
 * produces three records to TOPIC first, so it runs anywhere.
 *
 * Exit status: 0 success, 1 a Gofka error (printed with its name), 2 usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gofka.h>

static int fail(const char *what, const gofka_error_t *err) {
    fprintf(stderr, "%s: %s (%d): %s\n", what, err->name, err->code, err->message);
    return 1;
}

/* Little-endian reader over a packed buffer; `ok` turns 0 on truncation. */
typedef struct {
    const uint8_t *p, *end;
    int ok;
} reader;

static uint64_t get(reader *r, int size) {
    uint64_t v = 0;
    if (!r->ok || r->end - r->p < size) {
        r->ok = 0;
        return 0;
    }
    for (int i = 0; i < size; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += size;
    return v;
}

static int32_t get_i32(reader *r) { return (int32_t)(uint32_t)get(r, 4); }
static int64_t get_i64(reader *r) { return (int64_t)get(r, 8); }

static const uint8_t *get_bytes(reader *r, int32_t n) {
    const uint8_t *p = r->p;
    if (n <= 0) return p;
    if (!r->ok || r->end - r->p < n) {
        r->ok = 0;
        return NULL;
    }
    r->p += n;
    return p;
}

/* Prints the events and messages of one poll; returns the message count. */
static int print_messages(const uint8_t *buf, size_t len) {
    reader r = {buf, buf + len, 1};
    int32_t nmsg = get_i32(&r), nev = get_i32(&r), ntopics = get_i32(&r);
    const char *names[64];
    int32_t name_lens[64];
    if (!r.ok || ntopics < 0 || ntopics > 64) return -1;
    for (int i = 0; i < ntopics; i++) {
        name_lens[i] = get_i32(&r);
        names[i] = (const char *)get_bytes(&r, name_lens[i]);
    }
    for (int e = 0; e < nev && r.ok; e++) {
        int32_t kind = get_i32(&r), n = get_i32(&r);
        for (int i = 0; i < n && r.ok; i++) {
            int32_t t = get_i32(&r), part = get_i32(&r);
            if (t < 0 || t >= ntopics) return -1;
            printf("# %s %.*s/%d\n", kind == GOFKA_REBALANCE_ASSIGNED ? "assigned" : kind == GOFKA_REBALANCE_REVOKED ? "revoked" : "lost",
                   (int)name_lens[t], names[t], part);
        }
    }
    /* message heads: 48 bytes each; key, value and headers are [start, end)
     * byte ranges of the whole buffer (-1/-1 = null) */
    for (int m = 0; m < nmsg && r.ok; m++) {
        int32_t t = get_i32(&r), part = get_i32(&r);
        int64_t offset = get_i64(&r), ts = get_i64(&r);
        int32_t ks = get_i32(&r), ke = get_i32(&r), vs = get_i32(&r), ve = get_i32(&r);
        get_i32(&r); /* headers_start, headers_end: not printed */
        get_i32(&r);
        if (!r.ok || t < 0 || t >= ntopics) return -1;
        if ((ks >= 0 && (ke < ks || (size_t)ke > len)) || (vs >= 0 && (ve < vs || (size_t)ve > len))) return -1;
        printf("%.*s/%d@%lld ts=%lld key=%.*s value=%.*s\n", (int)name_lens[t], names[t], part, (long long)offset,
               (long long)ts, ks < 0 ? 4 : (int)(ke - ks), ks < 0 ? "null" : (const char *)buf + ks,
               vs < 0 ? 4 : (int)(ve - vs), vs < 0 ? "null" : (const char *)buf + vs);
    }
    return r.ok ? nmsg : -1;
}

static int seed(const char *brokers, const char *topic) {
    gofka_error_t err;
    gofka_handle_t p = 0;
    char config[1100];
    const char *values[] = {"first", "second", "third"};
    snprintf(config, sizeof config, "bootstrap.servers=%s\n", brokers);
    if (gofka_producer_new(config, &p, &err) != GOFKA_OK) return fail("gofka_producer_new", &err);
    for (int i = 0; i < 3; i++) {
        if (gofka_producer_send(p, topic, 0, NULL, -1, (const uint8_t *)values[i], (int64_t)strlen(values[i]), NULL,
                                0, -1, 10000, NULL, &err) != GOFKA_OK) {
            gofka_producer_close(p, 1000, NULL);
            return fail("gofka_producer_send", &err);
        }
    }
    return gofka_producer_close(p, 10000, &err) == GOFKA_OK ? 0 : fail("gofka_producer_close", &err);
}

int main(int argc, char **argv) {
    gofka_error_t err;
    gofka_handle_t cluster = 0, consumer = 0;
    char *brokers = NULL, *devbrokers = NULL, config[2048];
    long max = -1, received = 0;
    int idle = 0, rc = 0;

    if (argc < 2 || argc > 3 || (argc == 3 && (max = strtol(argv[2], NULL, 10)) <= 0)) {
        fprintf(stderr, "usage: %s TOPIC [MAX]\n", argv[0]);
        return 2;
    }
    const char *topic = argv[1];
    const char *group = getenv("GOFKA_GROUP") ? getenv("GOFKA_GROUP") : "gofka-c-example";

    brokers = getenv("GOFKA_BROKERS");
    if (!brokers) {
        if (gofka_devcluster_new(1, 0, &cluster, &err) != GOFKA_OK) return fail("gofka_devcluster_new", &err);
        if (gofka_devcluster_brokers(cluster, &devbrokers, NULL, &err) != GOFKA_OK)
            return fail("gofka_devcluster_brokers", &err);
        brokers = devbrokers;
        fprintf(stderr, "no GOFKA_BROKERS: started a dev cluster at %s with 3 records in %s\n", brokers, topic);
        if ((rc = seed(brokers, topic)) != 0) goto out;
    }

    snprintf(config, sizeof config,
             "bootstrap.servers=%s\ngroup.id=%s\nauto.offset.reset=earliest\nenable.auto.commit=true\n", brokers, group);
    if (gofka_consumer_new(config, &consumer, &err) != GOFKA_OK) {
        rc = fail("gofka_consumer_new", &err);
        goto out;
    }
    /* topics: '\n'-separated names; blocks until the first assignment */
    if (gofka_consumer_subscribe(consumer, topic, NULL, 30000, &err) != GOFKA_OK) {
        rc = fail("gofka_consumer_subscribe", &err);
        goto out;
    }
    while (max < 0 || received < max) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int32_t count = 0;
        /* short slices keep the program responsive; state lives in the engine */
        if (gofka_consumer_poll(consumer, 500, 500, &buf, &len, &count, &err) != GOFKA_OK) {
            rc = fail("gofka_consumer_poll", &err);
            goto out;
        }
        if (buf == NULL) {
            if (++idle >= 10) break; /* 5 s without records */
            continue;
        }
        int n = print_messages(buf, len);
        gofka_free(buf);
        if (n < 0) {
            fprintf(stderr, "malformed messages buffer\n");
            rc = 1;
            goto out;
        }
        if (n > 0) idle = 0;
        received += n;
    }
    printf("%ld records received\n", received);

out:
    if (consumer && gofka_consumer_close(consumer, 10000, &err) != GOFKA_OK && rc == 0)
        rc = fail("gofka_consumer_close", &err);
    if (devbrokers) gofka_free(devbrokers);
    if (cluster) gofka_devcluster_close(cluster, NULL);
    return rc;
}
