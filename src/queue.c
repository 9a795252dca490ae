/*
 * queue.c: owns kg_queue, the bounded FIFO of byte buffers between the
 * webhook's HTTP threads (producers) and the run loop (the one consumer).
 *
 * Design: a singly linked list under one mutex, no condition variables.  An
 * eventfd in semaphore mode mirrors the number of queued items: every push
 * adds 1 and every pop takes 1, both while the mutex is held, so the counter
 * always equals the queue length and queue_fd() polls readable exactly while
 * the queue is not empty.  Nothing here ever blocks beyond the mutex: a push
 * that does not fit (items or bytes) or comes after queue_close fails at
 * once, and the caller keeps its data.
 *
 * A limit of 0 (max_items or max_bytes) means "no limit" on that axis.
 *
 * Drain time: the consumer reports what each item cost it to judge
 * (queue_note_cost); the queue keeps a decaying average of seconds per byte
 * and, with a drain limit set, refuses a push that would make the queued
 * bytes take longer than the limit to judge at that rate.  An empty queue
 * always takes one item, so the bound is the limit plus one item's time.
 * The average starts from a pessimistic prior (PRIOR_S_PER_BYTE, weighing
 * as much as PRIOR_BYTES of reports) that the reports soon outweigh, so a
 * burst arriving before anything was judged is bounded too; and an item
 * being judged for longer than the average predicts raises the estimate at
 * once (a rule that just got slow).
 */
#include "kguard/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define COST_DECAY 0.9           /* weight of the history at each report */
#define PRIOR_S_PER_BYTE 10e-6    /* 100 KB/s: far slower than judging ever is */
#define PRIOR_BYTES 65536.0

typedef struct qnode {
    struct qnode *next;
    kg_queue_item item;
} qnode;

struct kg_queue {
    pthread_mutex_t mu;
    qnode *head, *tail;
    size_t len, bytes;
    size_t max_items, max_bytes;
    bool closed;
    int efd;
    double drain_limit;          /* seconds; 0: none */
    double cost_s, cost_bytes;   /* decaying sums of judging time and bytes */
    double busy_since;           /* when the item being judged was popped; 0: none */
    size_t busy_len;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

kg_queue *queue_new(size_t max_items, size_t max_bytes)
{
    kg_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE | EFD_CLOEXEC);
    if (q->efd < 0)
        goto fail;
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        goto fail;
    q->max_items = max_items;
    q->max_bytes = max_bytes;
    q->cost_s = PRIOR_BYTES * PRIOR_S_PER_BYTE;
    q->cost_bytes = PRIOR_BYTES;
    return q;
fail:
    if (q->efd >= 0)
        close(q->efd);
    free(q);
    return NULL;
}

void queue_free(kg_queue *q)
{
    if (!q)
        return;
    for (qnode *n = q->head, *next; n; n = next) {
        next = n->next;
        free(n->item.data);
        free(n);
    }
    close(q->efd);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Add (delta 1) or take (delta -1) one unit on the eventfd.  Called with the
 * mutex held; cannot fail in practice (the counter never nears its limit and
 * a take only happens while the counter is positive), retried on EINTR. */
static void efd_add(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void efd_take(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

/* Seconds to judge n bytes at the observed rate, or at the rate of the
 * item being judged if that is slower.  Called with the mutex held. */
static double drain_time(const kg_queue *q, double n)
{
    double rate = q->cost_s / q->cost_bytes;
    if (q->busy_since > 0 && q->busy_len) {
        double now_rate = (mono() - q->busy_since) / (double)q->busy_len;
        if (now_rate > rate)
            rate = now_rate;
    }
    return n * rate;
}

/* Whether an item of len bytes fits now.  Called with the mutex held. */
static bool fits(const kg_queue *q, size_t len)
{
    if (q->max_items && q->len >= q->max_items)
        return false;
    if (q->max_bytes && (len > q->max_bytes || q->bytes > q->max_bytes - len))
        return false;
    if (q->drain_limit > 0 && q->len > 0 &&
        drain_time(q, (double)q->bytes + (double)len) > q->drain_limit)
        return false;
    return true;
}

bool queue_push(kg_queue *q, kg_queue_item *item)
{
    qnode *n = malloc(sizeof *n);
    bool pushed = false;
    if (!n)
        return false;
    n->next = NULL;
    n->item = *item;
    n->item.origin[sizeof n->item.origin - 1] = '\0';

    pthread_mutex_lock(&q->mu);
    if (!q->closed && fits(q, item->len)) {
        if (q->tail)
            q->tail->next = n;
        else
            q->head = n;
        q->tail = n;
        q->len++;
        q->bytes += item->len;
        efd_add(q->efd);
        pushed = true;
    }
    pthread_mutex_unlock(&q->mu);

    if (!pushed)
        free(n);
    return pushed;
}

bool queue_pop(kg_queue *q, kg_queue_item *out)
{
    qnode *n;
    pthread_mutex_lock(&q->mu);
    n = q->head;
    if (n) {
        q->head = n->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
        q->bytes -= n->item.len;
        q->busy_since = mono();
        q->busy_len = n->item.len;
        efd_take(q->efd);
    }
    pthread_mutex_unlock(&q->mu);
    if (!n)
        return false;
    *out = n->item;
    free(n);
    return true;
}

int queue_fd(const kg_queue *q)
{
    return q->efd;
}

size_t queue_len(kg_queue *q)
{
    size_t n;
    pthread_mutex_lock(&q->mu);
    n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t queue_bytes(kg_queue *q)
{
    size_t n;
    pthread_mutex_lock(&q->mu);
    n = q->bytes;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void queue_set_drain_limit(kg_queue *q, double seconds)
{
    pthread_mutex_lock(&q->mu);
    q->drain_limit = seconds > 0 ? seconds : 0;
    pthread_mutex_unlock(&q->mu);
}

void queue_note_cost(kg_queue *q, size_t bytes, double seconds)
{
    if (!bytes || !(seconds >= 0)) {
        pthread_mutex_lock(&q->mu);
        q->busy_since = 0;
        pthread_mutex_unlock(&q->mu);
        return;
    }
    pthread_mutex_lock(&q->mu);
    q->cost_s = q->cost_s * COST_DECAY + seconds;
    q->cost_bytes = q->cost_bytes * COST_DECAY + (double)bytes;
    q->busy_since = 0;
    pthread_mutex_unlock(&q->mu);
}

double queue_drain_estimate(kg_queue *q)
{
    double t;
    pthread_mutex_lock(&q->mu);
    t = drain_time(q, (double)q->bytes);
    pthread_mutex_unlock(&q->mu);
    return t;
}

void queue_close(kg_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_mutex_unlock(&q->mu);
}
