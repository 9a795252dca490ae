/*
 * arena: bump allocation for cJSON's per-record trees.
 *
 * Parsing an event makes hundreds of small allocations that all die
 * together.  arena_install() points cJSON's allocator hooks at a
 * thread-local arena.  A record is parsed between arena_begin() and
 * arena_end(): everything cJSON allocates in between dies at arena_end(),
 * which rewinds the arena and frees the few large blocks that went to the
 * heap, without walking the tree.  Blocks allocated outside a region are
 * freed one by one as usual.  Every block carries a small header that tells
 * free() which kind it is.
 */
#ifndef KGUARD_ARENA_H
#define KGUARD_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct arena_mark {
    void *chunk;
    size_t used;
    bool active;           /* the arena is installed */
    bool nested;           /* a region was open: arena_end leaves it to that one */
} arena_mark;

typedef struct arena arena;

void arena_install(void);

/* Open a region.  Inside an open region, the mark is a nested one: what
 * is allocated lives until the enclosing region ends. */
arena_mark arena_begin(void);
/* Close it, freeing everything allocated since: true.  false when the
 * arena is not installed: the caller frees its trees itself. */
bool arena_end(arena_mark m);

/* Make cJSON allocate with malloc and free, in the calling thread, for a
 * while, e.g. around code
 * whose cJSON output is freed with free() (the output formats).  Returns
 * whether the arena was installed, to hand to arena_resume. */
bool arena_suspend(void);
void arena_resume(bool was_installed);

/* Free the calling thread's own arena's memory (at exit). */
void arena_release(void);

/* Arenas of their own (the pipeline's batches): one thread at a time uses
 * one, lent with arena_use (NULL: the thread's own again), which returns
 * the arena it replaces.  A tree allocated in a region of a lent arena is
 * freed (and its region ended) by a thread using that same arena. */
arena *arena_new(void);
void arena_delete(arena *a);
arena *arena_use(arena *a);
size_t arena_bytes(const arena *a);   /* its chunks' bytes */
bool arena_installed(void);

#endif
