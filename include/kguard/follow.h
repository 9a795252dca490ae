/*
 * follow: read an audit log as it grows, as `tail -F` does.  Survives
 * rotation (the file renamed and a new one created at the path: the rest of
 * the old file is read to its end first, then the new file from its start)
 * and truncation (copytruncate: read again from the start).  Never returns a
 * line twice or skips one across a rotation; a partial last line waits for
 * its newline.
 */
#ifndef KGUARD_FOLLOW_H
#define KGUARD_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kg_follow kg_follow;

/* Called for each complete line (without its newline), with its line number
 * in the current file. */
typedef void (*kg_follow_line_fn)(void *ud, const char *path, long lineno,
                                  const char *line, size_t len);
/* Called for notable happenings: "rotated", "truncated", "missing", and
 * lines over max_line (skipped, reported with their number). */
typedef void (*kg_follow_note_fn)(void *ud, const char *path, long lineno,
                                  const char *what);

typedef struct kg_follow_opts {
    const char *path;
    bool from_start;     /* read what is already there (default: start at the end) */
    size_t max_line;     /* longer lines are skipped and noted; 0: 16 MiB */
    kg_follow_line_fn line;
    kg_follow_note_fn note;
    void *ud;
} kg_follow_opts;

/* Start following.  The file need not exist yet (it is picked up when it
 * appears).  NULL with a message in err on bad options or out of memory. */
kg_follow *follow_open(const kg_follow_opts *opts, char *err, size_t errlen);

/* Read whatever is new (at most about max_bytes this call, 0 = no limit),
 * handling rotation and truncation; returns the number of lines delivered,
 * or -1 with a message in err on a read error (following goes on). */
long follow_poll(kg_follow *f, size_t max_bytes, char *err, size_t errlen);

/* An inotify file descriptor that becomes readable when the file or its
 * directory changes, to wait on with poll(); -1 when inotify is not
 * available (poll on a timer instead).  follow_poll drains it. */
int follow_fd(const kg_follow *f);

/* Byte offset read so far in the current file (for state and tests). */
long long follow_offset(const kg_follow *f);

void follow_close(kg_follow *f);

#endif
