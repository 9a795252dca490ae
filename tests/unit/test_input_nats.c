/*
 * Unit tests for input_nats_cluster: which subjects name a cluster (the
 * consuming itself is tested end to end against nats-server in tests/nats.t).
 */
#include <string.h>
#include "kguard/input_nats.h"
#include "tap.h"

static const char *cluster(const char *subject)
{
    static char out[128];
    input_nats_cluster(subject, out, sizeof out);
    return out;
}

int main(void)
{
    char small[4];
    ok(strcmp(cluster("audit.prod-eu-1"), "prod-eu-1") == 0, "audit.CLUSTER names CLUSTER");
    ok(strcmp(cluster("acme.k8s.audit.payments_prod"), "payments_prod") == 0,
       "the last token of a longer subject");
    ok(strcmp(cluster("audit"), "") == 0, "one token: no cluster");
    ok(strcmp(cluster("audit."), "") == 0, "an empty last token: no cluster");
    ok(strcmp(cluster(".prod"), "") == 0, "nothing before the dot: no cluster");
    ok(strcmp(cluster("audit.prod/eu"), "") == 0 && strcmp(cluster("audit.pr od"), "") == 0,
       "characters a cluster name cannot hold: no cluster");
    input_nats_cluster("audit.longer", small, sizeof small);
    ok(small[0] == '\0', "a name longer than the buffer: no cluster, no overflow");
    return done_testing();
}
