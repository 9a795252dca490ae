/*
 * persist: the --state file.  Saves the state tables and the aggregation
 * entries as one JSON document, atomically (temporary file, fsync, rename,
 * fsync of the directory).  Loading a file that is corrupt or of another
 * format version keeps it aside under a new name (never overwriting) and
 * starts fresh.
 */
#ifndef KGUARD_PERSIST_H
#define KGUARD_PERSIST_H

#include <stddef.h>
#include "kguard/aggregate.h"
#include "kguard/state.h"

#define KG_STATE_FORMAT "kguard-state"
#define KG_STATE_VERSION 1

/* Load path into st and agg, after removing the temporary files of saves
 * that were killed before their rename (path.tmp.<pid> of a process that
 * is gone).  Every number is range-checked; an entry with one out of range
 * is dropped, not the whole file.  Returns 0 when loaded or when there is
 * no file yet; 2 when loaded with a note in msg (entries dropped, temporary
 * files removed); 1 when the file was unusable and was moved aside (a
 * warning is in msg); -1 with msg when the file could not even be moved. */
int persist_load(const char *path, kg_state *st, kg_agg *agg, char *msg,
                 size_t msglen);

/* Can a state file be written at path (its directory exists and is
 * writable)?  Checked at start, so a long run does not fail at its end. */
int persist_check_writable(const char *path, char *msg, size_t msglen);

/* Save atomically.  Returns 0, or -1 with a message. */
int persist_save(const char *path, const kg_state *st, const kg_agg *agg,
                 char *msg, size_t msglen);

#endif
