/*
 * output: the sinks a command writes findings to — every --output (a file,
 * stdout, an HTTP receiver or a JetStream subject) in its own format, stdout when none is given,
 * and the archive of suppressed findings in its format.  The options that
 * describe them are collected by options.c into kg_cli's cli_output list.
 */
#ifndef KGUARD_OUTPUT_H
#define KGUARD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include "kguard/sink.h"
#include "options.h"
#include "kguard/config.h"
#include "kguard/format.h"
#include "kguard/nats_conn.h"

/* Add the archive (when archive_path is set and archived findings are not
 * dropped) and the outputs to set: every --output, else the config's
 * `outputs` (cfg may be NULL), else stdout; nats: outputs connect with nats
 * (NULL: none can).  -1 after a message on stderr. */
int output_open(const kg_cli *c, const kg_config *cfg, kg_sinks *set,
                const kg_nats_conn_opts *nats, const char *archive_path, bool drop_archived,
                bool flush_each);

/* Give s the line format called name (NULL or "guardduty": the finding as
 * kguard builds it); colour for a terminal.  -1 with a message in err for
 * an unknown name. */
int output_set_format(kg_sink *s, const char *name, bool colour, char *err, size_t errlen);

/* The end-of-scan summary: is it asked for (--summary, or text on a
 * terminal's stdout), and a sink counting findings into sum (the set
 * takes the sink, not sum).  -1 when out of memory. */
bool output_wants_summary(const kg_cli *c, const kg_config *cfg);
int output_add_summary(kg_sinks *set, kg_summary *sum);

/* "guardduty, ..." for messages. */
const char *output_format_names(void);

#endif
