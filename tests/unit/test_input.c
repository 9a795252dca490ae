/* Unit tests for the input module: line framing, documents, bad records. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kguard/input.h"
#include "tap.h"

typedef struct seen {
    int records, bad;
    long rec_lines[64], bad_lines[64];
    char verbs[64][16];
    char clusters[64][64];  /* meta->origin.cluster of each record */
    char last_msg[256];
} seen;

static void on_record(void *ud, const cJSON *rec, const kg_input_meta *meta,
                      const char *file, long line)
{
    seen *s = ud;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "verb");
    (void)file;
    if (s->records < 64) {
        s->rec_lines[s->records] = line;
        snprintf(s->verbs[s->records], 16, "%s", cJSON_IsString(v) ? v->valuestring : "?");
        snprintf(s->clusters[s->records], 64, "%.63s", meta->origin.cluster);
    }
    s->records++;
}

static void on_bad(void *ud, const char *file, long line, const char *msg)
{
    seen *s = ud;
    (void)file;
    if (s->bad < 64)
        s->bad_lines[s->bad] = line;
    snprintf(s->last_msg, sizeof s->last_msg, "%s", msg);
    s->bad++;
}

static seen read_text(const char *text, size_t len, size_t max_line)
{
    char path[] = "/tmp/kguard-input-XXXXXX";
    int fd = mkstemp(path);
    seen s = {0};
    kg_input_sink sink = {.record = on_record, .bad = on_bad, .ud = &s, .max_line = max_line};
    char err[256];
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        abort();
    close(fd);
    if (input_read_path(path, &sink, err, sizeof err) < 0)
        s.bad = -1;
    unlink(path);
    return s;
}

#define EV(verb) "{\"kind\":\"Event\",\"verb\":\"" verb "\",\"user\":{\"username\":\"u\"}}"

static void test_jsonl(void)
{
    const char *t = EV("get") "\r\n\r\n" "{bad json\n" EV("list") "\n" "  \n" EV("watch");
    seen s = read_text(t, strlen(t), 0);
    is_int(s.records, 3, "three events from JSONL with CRLF, blanks and no final newline");
    is_int(s.bad, 1, "one bad line");
    is_int(s.bad_lines[0], 3, "reported at its line");
    is_int(s.rec_lines[2], 6, "the last event keeps its line number");
    is_str(s.verbs[2], "watch", "the last line without a newline is read");
}

static void test_bad_first_line(void)
{
    const char *t = "{\"kind\":\"Event\",\"verb\":\n" EV("get") "\n" EV("list") "\n";
    seen s = read_text(t, strlen(t), 0);
    is_int(s.records, 2, "a broken first line does not cost the events after it");
    is_int(s.bad, 1, "and is reported once");
    is_int(s.bad_lines[0], 1, "at line 1");
}

static void test_documents(void)
{
    const char *list = "{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n"
                       "  \"items\": [\n    " EV("get") ",\n    " EV("delete") "\n  ]\n}\n";
    const char *arr = "[\n" EV("get") ",\n" EV("patch") ",\n42\n]";
    const char *one = "{\"kind\":\"EventList\",\"items\":[" EV("get") "," EV("list") "]}\n" EV("watch") "\n";
    seen s = read_text(list, strlen(list), 0);
    is_int(s.records, 2, "a pretty-printed EventList gives its items");
    is_str(s.verbs[1], "delete", "in order");
    s = read_text(arr, strlen(arr), 0);
    is_int(s.records, 2, "a JSON array gives its objects");
    is_int(s.bad, 1, "and reports a non-object item");
    s = read_text(one, strlen(one), 0);
    is_int(s.records, 3, "one-line EventLists mix with events in JSONL");
}

static void test_limits(void)
{
    size_t big = 3u << 20;
    char *t = malloc(big + 200);
    size_t n = 0;
    n += (size_t)sprintf(t + n, "%s\n", EV("get"));
    t[n++] = '"';
    memset(t + n, 'x', big);
    n += big;
    t[n++] = '"';
    t[n++] = '\n';
    n += (size_t)sprintf(t + n, "%s\n", EV("list"));
    seen s = read_text(t, n, 1u << 20);
    is_int(s.records, 2, "events around an oversize line are read");
    is_int(s.bad, 1, "the oversize line is reported");
    is_int(s.bad_lines[0], 2, "at its line");
    ok(strstr(s.last_msg, "longer than") != NULL, "as too long: %s", s.last_msg);
    free(t);

    const char *u = "{\"kind\":\"Event\",\"verb\":\"g\xc3\x28t\",\"user\":{}}\n" EV("get") "\n";
    s = read_text(u, strlen(u), 0);
    is_int(s.records, 1, "invalid UTF-8 costs only its line");
    ok(strstr(s.last_msg, "UTF-8") != NULL, "and says so: %s", s.last_msg);

    size_t depth = 5000;
    char *d = malloc(2 * depth + 64);
    memset(d, '[', depth);
    memset(d + depth, ']', depth);
    sprintf(d + 2 * depth, "\n%s\n", EV("get"));
    s = read_text(d, strlen(d), 0);
    is_int(s.records, 1, "deep nesting is rejected, the next event read");
    is_int(s.bad, 1, "deep nesting reported");
    free(d);
}

static void test_utf8(void)
{
    size_t at = 0;
    ok(input_utf8_valid((const unsigned char *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x94\x92", 15, NULL),
       "valid 2, 3 and 4 byte sequences");
    ok(!input_utf8_valid((const unsigned char *)"ab\xc0\xaf", 4, &at) && at == 2, "overlong rejected at its byte");
    ok(!input_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3, NULL), "surrogate rejected");
    ok(!input_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4, NULL), "beyond U+10FFFF rejected");
    ok(!input_utf8_valid((const unsigned char *)"\xe2\x82", 2, NULL), "truncated sequence rejected");
}

static void feed(seen *s, const char *text, const char *base_cluster)
{
    kg_input_sink sink = {.record = on_record, .bad = on_bad, .ud = s};
    kg_input_meta base = {0};
    snprintf(base.origin.cluster, sizeof base.origin.cluster, "%s", base_cluster);
    input_feed_from(text, strlen(text), "t", 1, &base, &sink);
}

static void test_clusters(void)
{
    seen s = {0};
    feed(&s, EV("get"), "");
    feed(&s, EV("list"), "blue");
    feed(&s, "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\","
             "\"logGroup\":\"/aws/eks/green/cluster\",\"logEvents\":[{\"id\":\"1\","
             "\"timestamp\":1,\"message\":\"{\\\"kind\\\":\\\"Event\\\",\\\"verb\\\":\\\"watch\\\","
             "\\\"user\\\":{\\\"username\\\":\\\"u\\\"}}\"}]}", "blue");
    feed(&s, "{\"category\":\"kube-audit\",\"properties\":{\"log\":" EV("create") "},"
             "\"resourceId\":\"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/"
             "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/RED\"}", "");
    feed(&s, "{\"protoPayload\":{\"methodName\":\"io.k8s.core.v1.pods.delete\","
             "\"authenticationInfo\":{\"principalEmail\":\"a@example.com\"}},"
             "\"resource\":{\"type\":\"k8s_cluster\",\"labels\":{\"cluster_name\":\"gold\"}}}", "blue");
    feed(&s, "{\"category\":\"kube-audit\",\"properties\":{\"log\":" EV("patch") "}}", "blue");
    is_int(s.records, 6, "six records from plain, EKS, AKS and GKE sources");
    is_int(s.bad, 0, "none bad");
    is_str(s.clusters[0], "", "a plain event: no cluster");
    is_str(s.clusters[1], "blue", "a plain event fed for a cluster: that cluster");
    is_str(s.clusters[2], "green", "EKS: the log group's cluster, over the one fed for");
    is_str(s.verbs[2], "watch", "EKS: the event");
    is_str(s.clusters[3], "red", "AKS: the resourceId's cluster");
    is_str(s.clusters[4], "gold", "GKE: resource.labels.cluster_name");
    is_str(s.verbs[4], "delete", "GKE: the rebuilt event");
    is_str(s.clusters[5], "blue", "an envelope naming no cluster keeps the one fed for");
}

int main(void)
{
    test_clusters();
    test_jsonl();
    test_bad_first_line();
    test_documents();
    test_limits();
    test_utf8();
    return done_testing();
}
