/*
 * Unit tests for nats_conn: which settings mean TLS, the checks made before
 * connecting, and that a failed connection names the server (TLS against a
 * live nats-server is tested end to end in tests/nats_tls.t).
 */
#include <string.h>
#include "kguard/nats_conn.h"
#include "tap.h"

static void test_tls(void)
{
    kg_nats_conn_opts plain = {.url = "nats://127.0.0.1:4222"};
    kg_nats_conn_opts url = {.url = "nats://a:4222,tls://b:4222"};
    kg_nats_conn_opts ca = {.url = "nats://127.0.0.1:4222", .ca = "ca.pem"};
    kg_nats_conn_opts cert = {.url = "nats://127.0.0.1:4222", .cert = "c.pem", .key = "k.pem"};
    ok(!nats_conn_tls(&plain), "nats:// without TLS files: plain");
    ok(nats_conn_tls(&url), "a tls:// URL among several: TLS");
    ok(nats_conn_tls(&ca), "a CA: TLS");
    ok(nats_conn_tls(&cert), "a client certificate: TLS");
}

static void test_check(void)
{
    char err[256] = "";
    kg_nats_conn_opts none = {0};
    kg_nats_conn_opts half = {.url = "tls://127.0.0.1:4222", .cert = "c.pem"};
    kg_nats_conn_opts key = {.url = "tls://127.0.0.1:4222", .key = "k.pem"};
    kg_nats_conn_opts good = {.url = "tls://127.0.0.1:4222", .cert = "c.pem", .key = "k.pem"};
    ok(nats_conn_check(&none, err, sizeof err) < 0 && strstr(err, "--nats-url"),
       "no URL: refused (%s)", err);
    ok(nats_conn_check(&half, err, sizeof err) < 0 && strstr(err, "--nats-key"),
       "a certificate without its key: refused (%s)", err);
    ok(nats_conn_check(&key, err, sizeof err) < 0, "a key without its certificate: refused");
    ok(nats_conn_check(&good, err, sizeof err) == 0, "both: fine");
}

static void test_open_fails(void)
{
    char err[512] = "";
    natsConnection *nc = (natsConnection *)1;
    jsCtx *js = (jsCtx *)1;
    kg_nats_conn_opts o = {.url = "nats://127.0.0.1:1"};
    kg_nats_conn_opts missing = {.url = "tls://127.0.0.1:1", .ca = "/nonexistent/ca.pem"};
    ok(nats_conn_open(&o, &nc, &js, err, sizeof err) < 0, "no server on the port: -1");
    ok(nc == NULL && js == NULL, "and nothing left open");
    ok(strncmp(err, "nats://127.0.0.1:1: ", 20) == 0, "the message starts with the URL: %s", err);
    ok(!strstr(err, ".c:"), "without libnats's source position");
    ok(nats_conn_open(&missing, &nc, &js, err, sizeof err) < 0 &&
       strstr(err, "/nonexistent/ca.pem"), "a CA file that is not there is named: %s", err);
}

int main(void)
{
    test_tls();
    test_check();
    test_open_fails();
    return done_testing();
}
