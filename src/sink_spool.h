/*
 * sink_spool: the backlog of finding lines one sink could not take yet, so
 * that the sink set (sink.c) can retry them in order when the sink recovers
 * and never drop one silently.  Lines are kept in memory up to
 * SPOOL_MEM_MAX bytes, then appended to a spool file beside the output
 * (OUTPUT.spool) up to SPOOL_FILE_MAX bytes; only past both is a line lost,
 * and the caller is told.  At the end, lines still in memory go to the spool
 * file too, and a spool file found at start (an earlier run's) is written
 * out before anything new.
 *
 * Also the one way a line is appended to a descriptor: sink_put_line writes
 * it whole or not at all (a partial line written to a regular file before an
 * error is cut off again).
 */
#ifndef KGUARD_SINK_SPOOL_H
#define KGUARD_SINK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#define SPOOL_MEM_MAX ((size_t)8 << 20)
#define SPOOL_FILE_MAX ((long long)256 << 20)

typedef struct sink_backlog sink_backlog;

/* A backlog; spool is the spool file's path (NULL: memory only).  An
 * existing non-empty spool file is adopted: its lines come first.  NULL
 * when out of memory. */
sink_backlog *backlog_new(const char *spool);
void backlog_free(sink_backlog *b);

bool backlog_empty(const sink_backlog *b);
/* Lines waiting (in memory and in the spool file). */
unsigned long long backlog_lines(const sink_backlog *b);
/* Lines adopted from an earlier run's spool file at start. */
unsigned long long backlog_adopted(const sink_backlog *b);
const char *backlog_spool(const sink_backlog *b);
/* Lines ever written to the spool file (adopted ones not counted), bytes
 * waiting in it now, lines waiting in memory now. */
void backlog_counts(const sink_backlog *b, unsigned long long *spooled,
                    unsigned long long *spool_bytes, unsigned long long *in_memory);

/* Keep one line (without its newline) after the ones already waiting.
 * 0 kept; -1 lost (memory and spool file full or failing), why in err. */
int backlog_keep(sink_backlog *b, const char *line, char *err, size_t errlen);

/* Hand the waiting lines, oldest first, to put until it fails (-1).
 * Returns the number put; *failed tells whether put failed. */
typedef int (*backlog_put)(void *ud, const char *line);
unsigned long long backlog_drain(sink_backlog *b, backlog_put put, void *ud, bool *failed);

/* At the end: lines still in memory are appended to the spool file.
 * Returns the number of lines that could not be kept anywhere (lost), with
 * the reason in err. */
unsigned long long backlog_save(sink_backlog *b, char *err, size_t errlen);

/* Append line and a newline to fd in one piece: 0, or -1 with errno set and
 * nothing of the line left in a regular file. */
int sink_put_line(int fd, const char *line, size_t len);

#endif
