/*
 * arena: the thread-local bump allocator behind cJSON (see arena.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "arena.h"

#define CHUNK_SIZE (1u << 20)
#define BIG (64u << 10)            /* larger blocks go to the heap */
#define ARENA_CAP (64u << 20)      /* past this, everything goes to the heap */
#define HDR 16u                    /* keeps max_align_t alignment */
#define TAG_ARENA 0x41524e41u
#define TAG_HEAP 0x48454150u

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} chunk;

typedef struct arena {
    chunk *head;                   /* the chunk being filled */
    chunk *spare;                  /* chunks kept for reuse after a reset */
    size_t total;
    long live;                     /* arena blocks not yet freed */
} arena;

static _Thread_local arena A;

static void *heap_alloc(size_t n)
{
    unsigned char *p = malloc(HDR + n);
    if (!p)
        return NULL;
    *(uint32_t *)p = TAG_HEAP;
    return p + HDR;
}

static chunk *new_chunk(void)
{
    chunk *c = A.spare;
    if (c) {
        A.spare = c->next;
    } else {
        if (A.total + CHUNK_SIZE > ARENA_CAP || !(c = malloc(sizeof *c + CHUNK_SIZE)))
            return NULL;
        c->size = CHUNK_SIZE;
        A.total += CHUNK_SIZE;
    }
    c->used = 0;
    c->next = A.head;
    A.head = c;
    return c;
}

static void *arena_malloc(size_t n)
{
    size_t need = HDR + ((n + 15u) & ~(size_t)15u);
    chunk *c = A.head;
    unsigned char *p;
    if (need > BIG)
        return heap_alloc(n);
    if ((!c || c->size - c->used < need) && !(c = new_chunk()))
        return heap_alloc(n);
    p = c->data + c->used;
    c->used += need;
    *(uint32_t *)p = TAG_ARENA;
    A.live++;
    return p + HDR;
}

static void arena_free(void *ptr)
{
    unsigned char *p;
    if (!ptr)
        return;
    p = (unsigned char *)ptr - HDR;
    if (*(uint32_t *)p == TAG_ARENA)
        A.live--;
    else
        free(p);
}

void arena_reset(void)
{
    if (A.live != 0 || !A.head)
        return;
    /* keep every chunk: move them all to the spare list */
    while (A.head) {
        chunk *c = A.head;
        A.head = c->next;
        c->next = A.spare;
        A.spare = c;
    }
}

void arena_install(void)
{
    cJSON_Hooks hooks = {arena_malloc, arena_free};
    cJSON_InitHooks(&hooks);
}

void arena_release(void)
{
    arena_reset();
    if (A.live != 0)
        return; /* blocks still in use: leave them be */
    while (A.spare) {
        chunk *c = A.spare;
        A.spare = c->next;
        free(c);
    }
    A.total = 0;
}
