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
} arena_mark;

void arena_install(void);

/* Open a region (not nested). */
arena_mark arena_begin(void);
/* Close it, freeing everything allocated since: true.  false when the
 * arena is not installed: the caller frees its trees itself. */
bool arena_end(arena_mark m);

/* Point cJSON's hooks at malloc and free for a while, e.g. around code
 * whose cJSON output is freed with free() (the output formats).  Returns
 * whether the arena was installed, to hand to arena_resume. */
bool arena_suspend(void);
void arena_resume(bool was_installed);

/* Free the arena's memory (at exit). */
void arena_release(void);

#endif
