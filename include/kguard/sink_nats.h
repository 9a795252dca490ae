/*
 * sink_nats: a findings sink (sink.h) that publishes each finding line as one
 * message to a NATS JetStream subject and counts it written only when the
 * stream acknowledged it.
 */
#ifndef KGUARD_SINK_NATS_H
#define KGUARD_SINK_NATS_H

#include <stddef.h>
#include "kguard/nats_conn.h"
#include "kguard/sink.h"

/* Connect with conn (nats_conn.h) and publish to subject.  NULL with a
 * message in err when the server cannot be reached. */
kg_sink *sink_nats_open(const kg_nats_conn_opts *conn, const char *subject, unsigned takes,
                        char *err, size_t errlen);

#endif
