/*
 * producer.c - send lines of standard input to a Kafka topic with libgofka.
 *
 *   cc producer.c $(pkg-config --cflags --libs gofka) -o gofka-producer
 *   printf 'a\nb\nc\n' | GOFKA_BROKERS=localhost:9092 ./gofka-producer my-topic
 *
 * Each line (without its newline) becomes one record value on partition 0.
 * Lines are packed into batches (the records format of gofka.h) and sent
 * with one gofka_producer_send_batch call per batch, which blocks until the
 * broker acknowledged every record. Without GOFKA_BROKERS the example starts
 * an in-process dev cluster, so it runs anywhere.
 *
 * Exit status: 0 success, 1 a Gofka error (printed with its name), 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gofka.h>

#define BATCH 1000

/* Appends little-endian integers to a growable buffer. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} buffer;

static void reserve(buffer *b, size_t n) {
    if (b->len + n <= b->cap) return;
    while (b->len + n > b->cap) b->cap = b->cap ? 2 * b->cap : 4096;
    b->data = realloc(b->data, b->cap);
    if (!b->data) {
        perror("realloc");
        exit(1);
    }
}

static void put_u32(buffer *b, uint32_t v) {
    reserve(b, 4);
    for (int i = 0; i < 4; i++) b->data[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(buffer *b, uint64_t v) {
    reserve(b, 8);
    for (int i = 0; i < 8; i++) b->data[b->len++] = (uint8_t)(v >> (8 * i));
}

/* One record: null key, the value, timestamp "now", no headers. */
static void put_record(buffer *b, const char *value, size_t len) {
    put_u32(b, (uint32_t)-1);
    put_u32(b, (uint32_t)len);
    reserve(b, len);
    memcpy(b->data + b->len, value, len);
    b->len += len;
    put_u64(b, (uint64_t)-1);
    put_u32(b, 0);
}

static int fail(const char *what, const gofka_error_t *err) {
    fprintf(stderr, "%s: %s (%d): %s\n", what, err->name, err->code, err->message);
    return 1;
}

static int flush_batch(gofka_handle_t p, const char *topic, buffer *b, int32_t count, long *total) {
    gofka_error_t err;
    int64_t *offsets = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (gofka_producer_send_batch(p, topic, 0, b->data, b->len, count, 30000, offsets, &err) != GOFKA_OK) {
        free(offsets);
        return fail("gofka_producer_send_batch", &err);
    }
    if (count > 0)
        printf("sent %d records to %s[0] at offsets %lld..%lld\n", count, topic, (long long)offsets[0],
               (long long)offsets[count - 1]);
    *total += count;
    free(offsets);
    b->len = 0;
    return 0;
}

int main(int argc, char **argv) {
    gofka_error_t err;
    gofka_handle_t cluster = 0, producer = 0;
    char *brokers = NULL, *config = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t n;
    buffer batch = {NULL, 0, 0};
    int32_t count = 0;
    long total = 0;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s TOPIC < values (one per line)\n", argv[0]);
        return 2;
    }
    const char *topic = argv[1];

    if (getenv("GOFKA_BROKERS")) {
        brokers = strdup(getenv("GOFKA_BROKERS"));
    } else {
        if (gofka_devcluster_new(1, 0, &cluster, &err) != GOFKA_OK) return fail("gofka_devcluster_new", &err);
        if (gofka_devcluster_brokers(cluster, &brokers, NULL, &err) != GOFKA_OK)
            return fail("gofka_devcluster_brokers", &err);
        fprintf(stderr, "no GOFKA_BROKERS: started a dev cluster at %s\n", brokers);
    }

    size_t clen = strlen(brokers) + 64;
    config = malloc(clen);
    snprintf(config, clen, "bootstrap.servers=%s\nacks=all\n", brokers);
    if (gofka_producer_new(config, &producer, &err) != GOFKA_OK) {
        rc = fail("gofka_producer_new", &err);
        goto out;
    }

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n') n--;
        put_record(&batch, line, (size_t)n);
        if (++count == BATCH) {
            if ((rc = flush_batch(producer, topic, &batch, count, &total)) != 0) goto out;
            count = 0;
        }
    }
    if (count > 0 && (rc = flush_batch(producer, topic, &batch, count, &total)) != 0) goto out;
    printf("%ld records sent\n", total);

out:
    if (producer && gofka_producer_close(producer, 10000, &err) != GOFKA_OK && rc == 0)
        rc = fail("gofka_producer_close", &err);
    if (cluster) gofka_devcluster_close(cluster, NULL);
    if (cluster) gofka_free(brokers);
    else free(brokers);
    free(config);
    free(line);
    free(batch.data);
    return rc;
}
