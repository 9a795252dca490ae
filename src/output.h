/*
 * output: the sinks a command writes findings to — every --output (a file,
 * stdout or an HTTP receiver) in its own format, stdout when none is given,
 * and the archive of suppressed findings in its format.  The options that
 * describe them are collected by options.c into kg_cli's cli_output list.
 */
#ifndef KGUARD_OUTPUT_H
#define KGUARD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include "kguard/sink.h"
#include "options.h"

/* Add the archive (when archive_path is set and archived findings are not
 * dropped) and the outputs to set.  -1 after a message on stderr. */
int output_open(const kg_cli *c, kg_sinks *set, const char *archive_path,
                bool drop_archived, bool flush_each);

/* Give s the line format called name (NULL or "guardduty": the finding as
 * kguard builds it); colour for a terminal.  -1 with a message in err for
 * an unknown name. */
int output_set_format(kg_sink *s, const char *name, bool colour, char *err, size_t errlen);

/* "guardduty, ..." for messages. */
const char *output_format_names(void);

#endif
