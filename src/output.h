/*
 * output: the sinks a command writes findings to — every --output (a file,
 * stdout or an HTTP receiver) in its own format, stdout when none is given,
 * and the archive of suppressed findings in its format — and the command-line
 * setters that collect them (--output, --http-header; --format and the other
 * --http-* options apply to the --output options given after them).
 */
#ifndef KGUARD_OUTPUT_H
#define KGUARD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include "kguard/sink.h"
#include "options.h"

/* opt_setters for options_table. */
int output_opt_output(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n);
int output_opt_header(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n);

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
