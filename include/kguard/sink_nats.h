/*
 * sink_nats: a findings sink (sink.h) that publishes each finding line as one
 * message to a NATS JetStream subject and counts it written only when the
 * stream acknowledged it.
 */
#ifndef KGUARD_SINK_NATS_H
#define KGUARD_SINK_NATS_H

#include <stddef.h>
#include "kguard/sink.h"

/* Connect to url (with the .creds file creds, or NULL) and publish to
 * subject.  NULL with a message in err when the server cannot be reached. */
kg_sink *sink_nats_open(const char *url, const char *creds, const char *subject,
                        unsigned takes, char *err, size_t errlen);

#endif
