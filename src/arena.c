/*
 * arena: the thread-local bump allocator behind cJSON (see arena.h).
 * Each thread allocates from its own arena, or from the one arena_use
 * lent it (the pipeline's batches, parsed by a worker and judged by the
 * judge thread, one at a time).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "arena.h"

#define CHUNK_SIZE (1u << 20)
#define BIG (64u << 10)            /* larger blocks go to the heap */
#define ARENA_CAP (64u << 20)      /* past this, everything goes to the heap */
#define HDR 16u                    /* header before every block; keeps alignment */
#define TAG_ARENA 0x41524e41u      /* in a chunk, inside a region */
#define TAG_HEAP 0x48454150u       /* malloc'd, freed one by one */
#define TAG_REGION 0x5245474eu     /* malloc'd inside a region, linked */

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} chunk;

/* A heap block made inside a region: links, then the usual header. */
typedef struct big {
    struct big *prev, *next;
} big;

typedef struct arena {
    chunk *head;                   /* the chunk being filled */
    chunk *spare;                  /* chunks kept for reuse */
    size_t total;
    bool in_region;
    big *bigs;                     /* heap blocks of the open region */
} arena;

static _Thread_local arena own;     /* the thread's own arena */
static _Thread_local arena *cur;   /* the one in use; NULL: own (arena_use) */
static _Thread_local bool suspended; /* arena_suspend: plain malloc and free */
static bool installed;             /* cJSON's hooks point here */

#define A (*(cur ? cur : &own))

static void *tag(unsigned char *p, uint32_t t)
{
    memcpy(p, &t, sizeof t);
    return p + HDR;
}

static void *heap_alloc(size_t n)
{
    unsigned char *p;
    big *b;
    if (!A.in_region)
        return (p = malloc(HDR + n)) ? tag(p, TAG_HEAP) : NULL;
    if (!(b = malloc(sizeof *b + HDR + n)))
        return NULL;
    b->prev = NULL;
    b->next = A.bigs;
    if (A.bigs)
        A.bigs->prev = b;
    A.bigs = b;
    return tag((unsigned char *)(b + 1), TAG_REGION);
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
    if (suspended)
        return malloc(n);
    if (!A.in_region || need > BIG)
        return heap_alloc(n);
    if ((!c || c->size - c->used < need) && !(c = new_chunk()))
        return heap_alloc(n);
    p = c->data + c->used;
    c->used += need;
    return tag(p, TAG_ARENA);
}

static void arena_free(void *ptr)
{
    unsigned char *p;
    uint32_t t;
    big *b;
    if (!ptr)
        return;
    if (suspended) {
        free(ptr);
        return;
    }
    p = (unsigned char *)ptr - HDR;
    memcpy(&t, p, sizeof t);
    if (t == TAG_ARENA)
        return;                    /* goes with its region */
    if (t == TAG_HEAP) {
        free(p);
        return;
    }
    b = (big *)p - 1;              /* TAG_REGION */
    if (b->prev)
        b->prev->next = b->next;
    else
        A.bigs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    free(b);
}

arena_mark arena_begin(void)
{
    arena_mark m = {A.head, A.head ? A.head->used : 0, installed && !A.in_region,
                    installed && A.in_region};
    if (m.active)
        A.in_region = true;
    return m;
}

bool arena_end(arena_mark m)
{
    if (m.nested)
        return true;               /* the enclosing region frees it */
    if (!m.active)
        return false;
    A.in_region = false;
    while (A.bigs) {
        big *b = A.bigs;
        A.bigs = b->next;
        free(b);
    }
    while (A.head && A.head != (chunk *)m.chunk) {
        chunk *c = A.head;
        A.head = c->next;
        c->next = A.spare;
        A.spare = c;
    }
    if (A.head)
        A.head->used = m.used;
    return true;
}

/* Free an arena's chunks (a region must not be open). */
static void release(arena *a)
{
    while (a->head) {
        chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
    while (a->spare) {
        chunk *c = a->spare;
        a->spare = c->next;
        free(c);
    }
    a->total = 0;
}

void arena_release(void)
{
    release(&own);
}

arena *arena_new(void)
{
    return calloc(1, sizeof(arena));
}

void arena_delete(arena *a)
{
    if (!a)
        return;
    release(a);
    free(a);
}

arena *arena_use(arena *a)
{
    arena *was = cur;
    cur = a;
    return was;
}

size_t arena_bytes(const arena *a)
{
    return a->total;
}

bool arena_installed(void)
{
    return installed;
}

void arena_install(void)
{
    cJSON_Hooks hooks = {arena_malloc, arena_free};
    cJSON_InitHooks(&hooks);
    installed = true;
}

bool arena_suspend(void)
{
    bool was = installed && !suspended;
    suspended = installed;
    return was;
}

void arena_resume(bool was_installed)
{
    if (was_installed)
        suspended = false;
}
