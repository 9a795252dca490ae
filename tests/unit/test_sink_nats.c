/*
 * Unit tests for sink_nats: a server that cannot be reached is refused at
 * open, naming it (publishing and refusals by a live JetStream are tested
 * end to end against nats-server in tests/nats.t).
 */
#include <string.h>
#include "kguard/sink_nats.h"
#include "tap.h"

int main(void)
{
    char err[512] = "";
    kg_nats_conn_opts conn = {.url = "nats://127.0.0.1:1"};
    kg_sink *s = sink_nats_open(&conn, "findings.kguard", KG_SINK_FINDINGS, err, sizeof err);
    ok(s == NULL, "no server on the port: no sink");
    ok(strstr(err, "nats://127.0.0.1:1") != NULL, "the message names the server: %s", err);
    sink_free(s);
    return done_testing();
}
