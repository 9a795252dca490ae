/*
 * options: the table of command-line options and how each stores its
 * value in kg_cli (see options.h).  A new option is one entry here (plus
 * its kg_cli field, and a config_keys entry in config.c if the config file
 * can say it too).
 */
#include <stdlib.h>
#include <string.h>
#include "kguard/config.h"
#include "options.h"
#include "util.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define MAX_BYTES (1ull << 31)
#define MAX_SECONDS 31536000.0
#define MAX_COUNT 1000000000L

/* ---- setters ---------------------------------------------------------- */

static int set_str(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    (void)err;
    (void)n;
    *(const char **)(void *)((char *)c + o->field) = arg;
    return 0;
}

static int set_flag(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    (void)arg;
    (void)err;
    (void)n;
    *(bool *)(void *)((char *)c + o->field) = true;
    return 0;
}

static int set_size(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || v < (unsigned long long)o->extra || v > MAX_BYTES) {
        util_set_err(err, n, "--%s wants a number of bytes from %ld to %llu", o->name,
                     o->extra, MAX_BYTES);
        return -1;
    }
    *(size_t *)(void *)((char *)c + o->field) = (size_t)v;
    return 0;
}

static int set_seconds(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 0 && v <= MAX_SECONDS)) {
        util_set_err(err, n, "--%s wants seconds from 0 to %.0f", o->name, MAX_SECONDS);
        return -1;
    }
    *(double *)(void *)((char *)c + o->field) = v;
    return 0;
}

/* A count from 0 to o->extra. */
static int set_count(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || v > (unsigned long long)o->extra) {
        util_set_err(err, n, "--%s wants a whole number from 0 to %ld", o->name, o->extra);
        return -1;
    }
    *(long *)(void *)((char *)c + o->field) = (long)v;
    return 0;
}

static int set_follow(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    if (c->n_follow == CLI_MAX_FOLLOW) {
        util_set_err(err, n, "at most %d --%s files", CLI_MAX_FOLLOW, o->name);
        return -1;
    }
    c->follow[c->n_follow++] = arg;
    return 0;
}

/* NAME=FILE: the cluster name (no '=' in it) ends at the first '='; the
 * rest, whatever it holds, is the file. */
static int cluster_source(const kg_option *o, const char *arg, cli_source *src, char *err,
                          size_t n)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : 0;
    if (!eq || !len || len >= sizeof src->cluster || !eq[1] ||
        strspn(arg, NAME_CHARS) != len) {
        util_set_err(err, n, "--%s wants CLUSTER=FILE (CLUSTER of letters, digits, . _ -), "
                     "got '%s'", o->name, arg);
        return -1;
    }
    memcpy(src->cluster, arg, len);
    src->cluster[len] = '\0';
    src->path = eq + 1;
    return 0;
}

/* --cluster-file CLUSTER=FILE (scan) */
static int set_cluster_file(kg_cli *c, const kg_option *o, const char *arg, char *err,
                            size_t n)
{
    if (c->n_cluster_files == CLI_MAX_FOLLOW) {
        util_set_err(err, n, "at most %d --%s files", CLI_MAX_FOLLOW, o->name);
        return -1;
    }
    if (cluster_source(o, arg, &c->cluster_files[c->n_cluster_files], err, n) < 0)
        return -1;
    c->n_cluster_files++;
    return 0;
}

/* --follow-cluster CLUSTER=FILE (run): a --follow with its cluster */
static int set_follow_cluster(kg_cli *c, const kg_option *o, const char *arg, char *err,
                              size_t n)
{
    cli_source src;
    if (cluster_source(o, arg, &src, err, n) < 0 || set_follow(c, o, src.path, err, n) < 0)
        return -1;
    memcpy(c->follow_cluster[c->n_follow - 1], src.cluster, sizeof src.cluster);
    return 0;
}

/* --threat-list NAME=FILE */
static int custom_list(const kg_option *o, const char *arg, cli_list *l, char *err, size_t n)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1] || strspn(arg, NAME_CHARS) != (size_t)(eq - arg)) {
        util_set_err(err, n, "--%s wants NAME=FILE (NAME of letters, digits, . _ -), got '%s'",
                     o->name, arg);
        return -1;
    }
    l->name = arg;
    l->name_len = (size_t)(eq - arg);
    l->path = eq + 1;
    return 0;
}

/* A list option: o->extra is its kg_list_kind; the single lists once. */
static int set_list(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    cli_list l = {(kg_list_kind)o->extra, NULL, 0, arg};
    if (c->n_lists == CLI_MAX_LISTS) {
        util_set_err(err, n, "too many lists");
        return -1;
    }
    if (l.kind == KG_LIST_CUSTOM && custom_list(o, arg, &l, err, n) < 0)
        return -1;
    for (size_t i = 0; l.kind != KG_LIST_CUSTOM && i < c->n_lists; i++) {
        if (c->lists[i].kind == l.kind) {
            util_set_err(err, n, "--%s is given twice", o->name);
            return -1;
        }
    }
    c->lists[c->n_lists++] = l;
    return 0;
}

/* --output DEST: with the --format and --http-* options seen so far. */
static int set_output(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    cli_output *out;
    if (c->n_outputs == CLI_MAX_OUTPUTS) {
        util_set_err(err, n, "at most %d --%s destinations", CLI_MAX_OUTPUTS, o->name);
        return -1;
    }
    if (!*arg) {
        util_set_err(err, n, "--%s wants a file, -, an http(s) URL or nats:SUBJECT", o->name);
        return -1;
    }
    out = &c->outputs[c->n_outputs++];
    *out = c->next;
    out->dest = arg;
    out->http.url = arg;
    return 0;
}

/* --http-header 'Name: value' */
static int set_header(kg_cli *c, const kg_option *o, const char *arg, char *err, size_t n)
{
    kg_http_opts *h = &c->next.http;
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || strpbrk(arg, "\r\n") ||
        strcspn(arg, " \t") < (size_t)(colon - arg)) {
        util_set_err(err, n, "--%s wants 'Name: value', got '%s'", o->name, arg);
        return -1;
    }
    if (h->n_headers == KG_HTTP_MAX_HEADERS) {
        util_set_err(err, n, "at most %d --%s", KG_HTTP_MAX_HEADERS, o->name);
        return -1;
    }
    h->headers[h->n_headers++] = arg;
    return 0;
}

/* ---- the table -------------------------------------------------------- */

#define F(m) offsetof(kg_cli, m)

const kg_option options_table[] = {
    {"config", "FILE", "settings, teams, severities, suppression rules (Lua)", NULL,
     OPT_ALL, set_str, F(config_path), 0},
    {"rules", "DIR", "rule files (default: the rules.d shipped with kguard)", "rules",
     OPT_ALL, set_str, F(rules_dir), 0},
    {"lualib", "DIR", "shared Lua modules (default: the shipped lualib)", "lualib",
     OPT_ALL, set_str, F(lualib_dir), 0},
    {"tor-exits", "FILE", "Tor exit list (exit-addresses format or one IP per line)",
     "tor_exits", OPT_ALL, set_list, 0, KG_LIST_TOR},
    {"malicious-ips", "FILE", "known-malicious IPs and CIDRs", "malicious_ips",
     OPT_ALL, set_list, 0, KG_LIST_MALICIOUS},
    {"threat-list", "NAME=FILE", "your own threat list; hits give the .Custom types",
     "threat_lists", OPT_ALL, set_list, 0, KG_LIST_CUSTOM},
    {"trusted-ips", "FILE", "addresses never reported by the IP-list types", "trusted_ips",
     OPT_ALL, set_list, 0, KG_LIST_TRUSTED},
    {"cluster", "NAME", "cluster name in findings (default: kubernetes)", "cluster",
     OPT_ALL, set_str, F(cluster), 0},
    {"cluster-file", "CLUSTER=FILE", "scan: a file of that cluster's log (repeatable; its "
     "records' own cluster wins)", NULL, OPT_ALL, set_cluster_file, 0, 0},
    {"account-id", "ID", "account id in findings (default: 000000000000)", "account_id",
     OPT_ALL, set_str, F(account_id), 0},
    {"region", "REGION", "region in findings (default: local)", "region",
     OPT_ALL, set_str, F(region), 0},
    {"state", "FILE", "keep baselines and finding aggregation across runs", "state",
     OPT_ALL, set_str, F(state_path), 0},
    {"cache-dir", "DIR", "keep loaded IP lists here for a fast start (default: kguard-cache "
     "beside the --state file, else none)", "cache_dir", OPT_ALL, set_str, F(cache_dir), 0},
    {"publish-interval", "S", "seconds between updates of one finding (default: 300)",
     "publish_interval", OPT_ALL, set_seconds, F(publish_interval), 0},
    {"archive", "FILE", "where suppressed findings go (default: with the others)", "archive",
     OPT_ALL, set_str, F(archive_path), 0},
    {"drop-archived", NULL, "drop suppressed findings instead", "archive",
     OPT_ALL, set_flag, F(drop_archived), 0},
    {"max-line-bytes", "N", "longest event line accepted (default: 16777216)", NULL,
     OPT_ALL, set_size, F(max_line), 1024},
    {"rule-max-failures", "N", "switch a rule off after N failures in a row (default: 20; 0: never)",
     "rule_max_failures", OPT_ALL, set_count, F(rule_max_failures), MAX_COUNT},
    {"stats", NULL, "per-rule counters and Lua time on stderr at the end", NULL,
     OPT_ALL, set_flag, F(stats), 0},
    {"summary", NULL, "findings by type and severity, top identities and IPs, on stderr at "
     "the end (default with --format text on a terminal)", NULL, OPT_ALL, set_flag, F(summary), 0},
    {"literal-lists", NULL, "match the private, loopback, ... ranges threat lists name",
     "literal_lists", OPT_ALL, set_flag, F(literal_lists), 0},
    {"accept-shrunk-lists", NULL, "on reload, take lists that lost over half their entries",
     NULL, OPT_ALL, set_flag, F(accept_shrunk_lists), 0},
    {"no-prescan", NULL, "parse every line whole: skipped stages, bodies (for checks)",
     NULL, OPT_ALL, set_flag, F(no_prescan), 0},
    {"threads", "N", "parse workers feeding the judging thread (default, 0: one per core; "
     "1: none)", "threads", OPT_ALL, set_count, F(threads), KG_MAX_THREADS},
    {"thread-queue-bytes", "N", "line bytes in flight to the workers (default: 2097152)",
     NULL, OPT_ALL, set_size, F(thread_queue), 1},
    {"follow", "FILE", "follow an audit log across rotation (repeatable)", NULL,
     OPT_RUN, set_follow, 0, 0},
    {"follow-cluster", "CLUSTER=FILE", "follow a log of that cluster (repeatable; its "
     "records' own cluster wins)", NULL, OPT_RUN, set_follow_cluster, 0, 0},
    {"from-start", NULL, "read followed files from their start, not their end", NULL,
     OPT_RUN, set_flag, F(from_start), 0},
    {"listen", "[HOST:]PORT", "audit webhook receiver, POST /k8s-audit (host: 127.0.0.1)",
     NULL, OPT_RUN, set_str, F(listen), 0},
    {"tls-cert", "FILE", "serve HTTPS with this certificate (and --tls-key)", NULL,
     OPT_RUN, set_str, F(tls_cert), 0},
    {"tls-key", "FILE", "the certificate's private key", NULL,
     OPT_RUN, set_str, F(tls_key), 0},
    {"client-ca", "FILE", "require client certificates signed by this CA", NULL,
     OPT_RUN, set_str, F(client_ca), 0},
    {"auth-token-file", "FILE", "require this bearer token", NULL,
     OPT_RUN, set_str, F(token_file), 0},
    {"max-body-bytes", "N", "largest webhook body (default: 33554432)", NULL,
     OPT_RUN, set_size, F(max_body), 1024},
    {"metrics-listen", "[HOST:]PORT", "serve GET /metrics here (run with --listen: on it)",
     NULL, OPT_SCAN_RUN, set_str, F(metrics_listen), 0},
    {"output", "DEST", "findings to a FILE (appended; reopened on SIGUSR1), - (stdout), an "
     "http(s) URL or nats:SUBJECT (kguard run); repeatable", "outputs", OPT_ALL, set_output, 0, 0},
    {"format", "NAME", "line format of the --output options after it (default: guardduty)",
     NULL, OPT_ALL, set_str, F(next.format), 0},
    {"archive-format", "NAME", "line format of the --archive file", NULL,
     OPT_ALL, set_str, F(archive_format), 0},
    {"http-header", "'NAME: VALUE'", "header of the HTTP --output after it (repeatable)", NULL,
     OPT_ALL, set_header, 0, 0},
    {"http-token-file", "FILE", "HTTP --output: Authorization: SCHEME <first line of FILE>",
     NULL, OPT_ALL, set_str, F(next.http.token_file), 0},
    {"http-auth-scheme", "WORD", "the token's scheme (default: Bearer; Splunk HEC: Splunk)",
     NULL, OPT_ALL, set_str, F(next.http.auth_scheme), 0},
    {"http-ca", "FILE", "HTTP --output: trust this CA (TLS is always verified)", NULL,
     OPT_ALL, set_str, F(next.http.ca_file), 0},
    {"http-array", NULL, "HTTP --output: a JSON array per request (default: NDJSON)", NULL,
     OPT_ALL, set_flag, F(next.http.array), 0},
    {"http-batch", "N", "HTTP --output: lines per request (default: 500)", NULL,
     OPT_ALL, set_size, F(next.http.batch), 1},
    {"http-timeout", "S", "HTTP --output: seconds per request (default: 10)", NULL,
     OPT_ALL, set_seconds, F(next.http.timeout), 0},
    {"http-drain", "S", "HTTP --output: seconds to keep trying at the end (default: 30)",
     NULL, OPT_ALL, set_seconds, F(next.http.drain), 0},
    {"http-spool", "FILE", "HTTP --output: keep undelivered findings in FILE", NULL,
     OPT_ALL, set_str, F(next.http.spool_path), 0},
    {"http-spool-max", "N", "HTTP --output: largest spool in bytes (default: 268435456)", NULL,
     OPT_ALL, set_size, F(next.http.spool_max), 4096},
    {"header-timeout", "S", "seconds a webhook client has to send its headers (default: 10)",
     NULL, OPT_RUN, set_seconds, F(header_timeout), 0},
    {"max-drain", "S", "webhook queue bound: seconds of judging it may hold (default: 30)",
     NULL, OPT_RUN, set_seconds, F(max_drain), 0},
    {"nats-url", "URL", "consume audit records from JetStream (nats:// or tls://HOST:PORT)",
     "nats_url", OPT_RUN, set_str, F(nats_url), 0},
    {"nats-creds", "FILE", "NATS credentials file (JWT and NKey seed)", "nats_creds",
     OPT_RUN, set_str, F(nats_creds), 0},
    {"nats-ca", "FILE", "NATS over TLS: trust this CA (TLS is always verified)", "nats_ca",
     OPT_RUN, set_str, F(nats_ca), 0},
    {"nats-cert", "FILE", "NATS over TLS: client certificate (and --nats-key)", "nats_cert",
     OPT_RUN, set_str, F(nats_cert), 0},
    {"nats-key", "FILE", "the NATS client certificate's private key", "nats_key",
     OPT_RUN, set_str, F(nats_key), 0},
    {"nats-subject", "SUBJ", "subjects the consumer takes (default: audit.>)", "nats_subject",
     OPT_RUN, set_str, F(nats_subject), 0},
    {"nats-durable", "NAME", "durable pull consumer's name (default: kguard)", "nats_durable",
     OPT_RUN, set_str, F(nats_durable), 0},
    {"nats-clusters", "LIST", "consume these clusters (a,b,c), each through DURABLE-CLUSTER", NULL,
     OPT_RUN, set_str, F(nats_clusters), 0},
    {"nats-group", NULL, "share the clusters with other kguards through KV leases", NULL,
     OPT_RUN, set_flag, F(nats_group), 0},
    {"nats-lease", "S", "--nats-group: lease time-to-live in seconds (default: 10)", NULL,
     OPT_RUN, set_seconds, F(nats_lease), 0},
    {"nats-replicas", "N", "--nats-group: replicas of the KV buckets (default: 1)", NULL,
     OPT_RUN, set_count, F(nats_replicas), 5},
    {"nats-spool", "FILE", "nats: --output: keep findings JetStream did not take in FILE", NULL,
     OPT_RUN, set_str, F(next.http.spool_path), 0},
    {"nats-output", "SUBJ", "same as --output nats:SUBJ", NULL,
     OPT_RUN, set_str, F(nats_output), 0},
    {"publish-to-nats", NULL, "--listen: store webhook batches in JetStream (audit.CLUSTER), "
     "answer 200 once stored; no judging here", NULL, OPT_RUN, set_flag, F(publish_to_nats), 0},
    {"help", NULL, "this text", NULL, OPT_HELP, NULL, 0, 0},
};

const size_t options_count = sizeof options_table / sizeof options_table[0];

_Static_assert(sizeof options_table / sizeof options_table[0] <= OPTIONS_MAX,
               "options_table outgrew OPTIONS_MAX");

const kg_option *options_find(const char *name)
{
    for (size_t i = 0; name && i < options_count; i++)
        if (strcmp(options_table[i].name, name) == 0)
            return &options_table[i];
    return NULL;
}

void options_help(FILE *to, opt_scope scope)
{
    char left[64];
    for (size_t i = 0; i < options_count; i++) {
        const kg_option *o = &options_table[i];
        if (o->scope != scope)
            continue;
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(to, "  %-22s %s\n", left, o->help);
    }
}
