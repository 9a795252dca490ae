/*
 * test_queue.c: unit tests for the queue module: FIFO order, the item and
 * byte bounds, the eventfd that polls readable iff the queue is not empty,
 * close, and a two-thread producer/consumer run checked by sum and order.
 */
#include "kguard/queue.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

/* ---- helpers --------------------------------------------------------- */

/* An item holding a malloc'd copy of text. */
static kg_queue_item make_item(const char *text, const char *origin)
{
    kg_queue_item it;
    memset(&it, 0, sizeof it);
    it.len = strlen(text);
    it.data = malloc(it.len + 1);
    memcpy(it.data, text, it.len + 1);
    snprintf(it.origin, sizeof it.origin, "%s", origin);
    return it;
}

/* Push a copy of text; frees the copy itself when the push fails. */
static bool push_text(kg_queue *q, const char *text)
{
    kg_queue_item it = make_item(text, "test");
    if (queue_push(q, &it))
        return true;
    free(it.data);
    return false;
}

/* Whether the queue's fd polls readable right now. */
static bool readable(const kg_queue *q)
{
    struct pollfd p = { .fd = queue_fd(q), .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- tests ----------------------------------------------------------- */

static void test_order(void)
{
    kg_queue *q = queue_new(16, 1024);
    kg_queue_item out;
    ok(q != NULL, "queue_new");
    ok(push_text(q, "one") && push_text(q, "two") && push_text(q, "three"), "three pushes");
    is_int(queue_len(q), 3, "length 3");
    is_int(queue_bytes(q), 11, "11 bytes queued");
    ok(queue_pop(q, &out), "pop 1");
    is_str(out.data, "one", "first in, first out");
    is_int(out.len, 3, "length kept");
    is_str(out.origin, "test", "origin kept");
    free(out.data);
    ok(queue_pop(q, &out), "pop 2");
    is_str(out.data, "two", "second");
    free(out.data);
    ok(queue_pop(q, &out), "pop 3");
    is_str(out.data, "three", "third");
    free(out.data);
    ok(!queue_pop(q, &out), "pop on empty fails");
    is_int(queue_len(q), 0, "empty again");
    is_int(queue_bytes(q), 0, "no bytes");
    queue_free(q);
}

static void test_item_bound(void)
{
    kg_queue *q = queue_new(2, 0);
    kg_queue_item out, it;
    ok(push_text(q, "a") && push_text(q, "b"), "two fit in a queue of 2");
    it = make_item("c", "third");
    ok(!queue_push(q, &it), "a third is refused");
    ok(it.data != NULL && strcmp(it.data, "c") == 0, "the caller keeps a refused item");
    is_int(queue_len(q), 2, "still 2");
    ok(queue_pop(q, &out), "pop one");
    free(out.data);
    ok(queue_push(q, &it), "the third fits after a pop");
    ok(queue_pop(q, &out) && strcmp(out.data, "b") == 0, "order kept: b");
    free(out.data);
    ok(queue_pop(q, &out) && strcmp(out.data, "c") == 0, "then c");
    is_str(out.origin, "third", "origin of c");
    free(out.data);
    queue_free(q);
}

static void test_byte_bound(void)
{
    kg_queue *q = queue_new(0, 10);
    kg_queue_item out;
    ok(push_text(q, "12345") && push_text(q, "1234"), "9 bytes fit in 10");
    ok(!push_text(q, "12"), "2 more do not");
    ok(push_text(q, "1"), "1 more does");
    is_int(queue_bytes(q), 10, "exactly at the byte limit");
    ok(!push_text(q, "x"), "one byte more does not fit");
    ok(push_text(q, ""), "an empty item still fits (items are not bounded here)");
    queue_free(q);

    q = queue_new(0, 10);
    ok(!push_text(q, "12345678901"), "an item larger than the limit never fits");
    is_int(queue_len(q), 0, "and nothing was queued");
    ok(push_text(q, "1234567890"), "an item of exactly the limit fits an empty queue");
    ok(!push_text(q, "x"), "full by bytes");
    ok(queue_pop(q, &out), "pop");
    free(out.data);
    ok(push_text(q, "x"), "fits after the pop");
    queue_free(q);   /* frees the item left */
}

static void test_fd(void)
{
    kg_queue *q = queue_new(8, 0);
    kg_queue_item out;
    ok(queue_fd(q) >= 0, "queue_fd is a descriptor");
    ok(!readable(q), "empty: not readable");
    push_text(q, "a");
    ok(readable(q), "one item: readable");
    push_text(q, "b");
    ok(readable(q), "two items: readable");
    queue_pop(q, &out);
    free(out.data);
    ok(readable(q), "one left: still readable");
    queue_pop(q, &out);
    free(out.data);
    ok(!readable(q), "empty again: not readable");
    ok(!queue_pop(q, &out), "pop on empty");
    ok(!readable(q), "a failed pop does not disturb the fd");
    push_text(q, "c");
    ok(readable(q), "readable after a new push");
    queue_free(q);
}

static void test_close(void)
{
    kg_queue *q = queue_new(8, 0);
    kg_queue_item out, it;
    push_text(q, "before");
    queue_close(q);
    it = make_item("after", "x");
    ok(!queue_push(q, &it), "push after close fails");
    free(it.data);
    ok(queue_pop(q, &out), "items queued before close still pop");
    is_str(out.data, "before", "the queued item");
    free(out.data);
    ok(!readable(q), "empty closed queue: not readable");
    queue_free(q);
    queue_free(NULL);
    ok(1, "queue_free(NULL) is harmless");
}

/* ---- producer/consumer stress ---------------------------------------- */

#define STRESS_N 100000

static void *producer(void *arg)
{
    kg_queue *q = arg;
    for (unsigned long i = 1; i <= STRESS_N; i++) {
        char buf[32];
        kg_queue_item it;
        memset(&it, 0, sizeof it);
        it.len = (size_t)snprintf(buf, sizeof buf, "%lu", i);
        it.data = malloc(it.len + 1);
        memcpy(it.data, buf, it.len + 1);
        /* Full: yield and retry, as a producer answering 429 would be
         * retried by its client.  Bounded by the consumer draining. */
        while (!queue_push(q, &it))
            sched_yield();
    }
    return NULL;
}

static void test_stress(void)
{
    kg_queue *q = queue_new(64, 64 * 8);
    pthread_t th;
    unsigned long long sum = 0, want = (unsigned long long)STRESS_N * (STRESS_N + 1) / 2;
    unsigned long count = 0, prev = 0, polls = 0;
    bool in_order = true, fd_ok = true;

    pthread_create(&th, NULL, producer, q);
    while (count < STRESS_N && polls < 100000000UL) {
        kg_queue_item out;
        struct pollfd p = { .fd = queue_fd(q), .events = POLLIN };
        polls++;
        if (poll(&p, 1, 5000) != 1) {
            fd_ok = false;   /* the producer never stalls for 5 s */
            break;
        }
        while (queue_pop(q, &out)) {
            unsigned long v = strtoul(out.data, NULL, 10);
            if (v != prev + 1)
                in_order = false;
            prev = v;
            sum += v;
            count++;
            free(out.data);
        }
    }
    pthread_join(th, NULL);
    ok(fd_ok, "the fd woke the consumer every time");
    is_int(count, STRESS_N, "every item consumed");
    ok(sum == want, "sum of items %llu (want %llu)", sum, want);
    ok(in_order, "consumed in production order");
    is_int(queue_len(q), 0, "empty at the end");
    ok(!readable(q), "fd not readable at the end");
    queue_free(q);
}

/* Report n items of bytes judged in secs each (enough to outweigh the
 * prior and any earlier history). */
static void settle(kg_queue *q, size_t bytes, double secs)
{
    for (int i = 0; i < 150; i++)
        queue_note_cost(q, bytes, secs);
}

static int push_n(kg_queue *q, const char *text, int n)
{
    int pushed = 0;
    for (int i = 0; i < n; i++)
        pushed += push_text(q, text);
    return pushed;
}

static void drain(kg_queue *q)
{
    kg_queue_item out;
    while (queue_pop(q, &out))
        free(out.data);
}

/* The drain-time bound: refuses once the queued bytes would take longer
 * than the limit at the reported rate; an empty queue always takes one. */
static void test_drain_bound(void)
{
    kg_queue *q = queue_new(0, 0);
    kg_queue_item out;
    char body[101];
    int pushed;
    memset(body, 'e', 100);
    body[100] = '\0';
    queue_set_drain_limit(q, 1.0);
    pushed = push_n(q, body, 20000);
    ok(pushed > 50 && pushed < 20000,
       "before any report the pessimistic prior (100 KB/s) bounds a burst: %d of 100 bytes", pushed);
    drain(q);
    settle(q, 100, 0.24);                   /* 100 bytes take 0.24 s */
    ok(queue_drain_estimate(q) == 0.0, "an empty queue drains in no time");
    is_int(push_n(q, body, 10), 4, "at 0.24 s per item a 1 s limit takes 4 items");
    ok(queue_drain_estimate(q) > 0.95 && queue_drain_estimate(q) < 0.97, "estimate: 0.96 s queued");
    ok(queue_pop(q, &out), "one judged");
    free(out.data);
    queue_note_cost(q, 100, 0.24);
    ok(push_text(q, body), "... makes room for one more");
    drain(q);
    settle(q, 100, 0.001);                  /* the rule got fast again */
    ok(push_n(q, body, 100) == 100, "the estimate follows a faster judge");
    drain(q);
    ok(push_text(q, body) && push_text(q, body), "two queued");
    ok(queue_pop(q, &out), "one popped and being judged ...");
    free(out.data);
    usleep(300000);
    pushed = push_n(q, body, 1000);
    ok(pushed < 10, "... for 0.3 s: the estimate takes its time so far into account (%d taken)",
       pushed);
    queue_note_cost(q, 100, 0.3);
    drain(q);
    settle(q, 100, 10.0);                   /* one item costs more than the limit */
    ok(push_text(q, body), "an empty queue still takes one item");
    ok(!push_text(q, body), "... and no second");
    queue_set_drain_limit(q, 0);
    ok(push_text(q, body), "limit 0: no drain bound");
    queue_free(q);
}

int main(void)
{
    test_order();
    test_item_bound();
    test_byte_bound();
    test_fd();
    test_close();
    test_stress();
    test_drain_bound();
    return done_testing();
}
