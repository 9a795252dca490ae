/*
 * arena: bump allocation for cJSON's per-record trees.
 *
 * Parsing an event makes hundreds of small allocations that all die
 * together.  arena_install() points cJSON's allocator hooks at a
 * thread-local arena; arena_reset() after a record rewinds it, but only
 * when every arena allocation has been freed, so a tree kept alive by
 * mistake is never overwritten (the arena just grows, up to a cap beyond
 * which it hands out heap memory).  Every block carries a small header that
 * tells free() which kind it is.
 */
#ifndef KGUARD_ARENA_H
#define KGUARD_ARENA_H

void arena_install(void);
void arena_reset(void);
/* Free the arena's memory (at exit), when nothing in it is in use. */
void arena_release(void);

#endif
