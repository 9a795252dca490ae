/*
 * queue: a bounded, thread-safe FIFO of byte buffers between producers (the
 * webhook's HTTP threads) and the one consumer that judges events (the run
 * loop).  Bounded by entries and by bytes; a push that does not fit fails at
 * once, so the producer can answer "retry later" instead of dropping data.
 * The consumer can wait on queue_fd() with poll(): it is readable while the
 * queue is not empty.  Optionally bounded by drain time too: the consumer
 * reports what judging each item cost, and a push is refused when the queue
 * would take longer than the limit to judge at that rate (so a stop never
 * waits longer than that for what was already accepted).
 */
#ifndef KGUARD_QUEUE_H
#define KGUARD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kg_queue kg_queue;

typedef struct kg_queue_item {
    char *data;          /* malloc'd; owned by whoever holds the item */
    size_t len;
    char origin[64];     /* e.g. "webhook 127.0.0.1:52344" for diagnostics */
    char cluster[128];   /* the cluster the sender named (POST /k8s-audit/NAME), or "" */
} kg_queue_item;

kg_queue *queue_new(size_t max_items, size_t max_bytes);
void queue_free(kg_queue *q);   /* frees any items left */

/* Take ownership of item->data on success (true); false when full or
 * closed, and the caller keeps the data. */
bool queue_push(kg_queue *q, kg_queue_item *item);

/* Pop without blocking; false when empty. */
bool queue_pop(kg_queue *q, kg_queue_item *out);

/* A file descriptor that polls readable while items are queued. */
int queue_fd(const kg_queue *q);

size_t queue_len(kg_queue *q);
size_t queue_bytes(kg_queue *q);

/* Refuse pushes that would take more than seconds to judge (0: no limit);
 * an empty queue still takes one item. */
void queue_set_drain_limit(kg_queue *q, double seconds);
/* The consumer judged the item it popped last, of bytes, in seconds (feeds
 * the estimate; until then that item's time so far counts too). */
void queue_note_cost(kg_queue *q, size_t bytes, double seconds);
/* Seconds the queued items are expected to take to judge. */
double queue_drain_estimate(kg_queue *q);

/* Refuse further pushes (shutdown). */
void queue_close(kg_queue *q);

#endif
