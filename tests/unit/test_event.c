/* Unit tests for event_extract: fields, type checks and per-event facts. */
#include <stdlib.h>
#include "kguard/event.h"
#include "kguard/finding.h"
#include "kguard/timefmt.h"
#include "kguard/workload.h"
#include "tap.h"

static const char *const SECRET_LIST =
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
    "\"auditID\":\"6f1c1c3e-2b0e-4d4a-9a55-3f7a1e2f9b10\",\"stage\":\"ResponseComplete\","
    "\"requestURI\":\"/api/v1/namespaces/payments/secrets?limit=500\",\"verb\":\"list\","
    "\"user\":{\"username\":\"arn:aws:sts::111122223333:assumed-role/ops/alice\","
    "\"uid\":\"aws-iam-authenticator:111122223333:AROAEXAMPLE\","
    "\"groups\":[\"system:authenticated\"],\"extra\":{\"sessionName\":[\"alice\"],"
    "\"accessKeyId\":[\"ASIAEXAMPLE\"]}},"
    "\"sourceIPs\":[\"203.0.113.7\",\"not-an-ip\",\"2001:db8::7\"],"
    "\"userAgent\":\"kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819\","
    "\"objectRef\":{\"resource\":\"secrets\",\"namespace\":\"payments\",\"apiVersion\":\"v1\"},"
    "\"responseStatus\":{\"metadata\":{},\"code\":200},"
    "\"requestReceivedTimestamp\":\"2024-03-12T10:15:30.123456Z\","
    "\"stageTimestamp\":\"2024-03-12T10:15:30.130001Z\","
    "\"annotations\":{\"authorization.k8s.io/decision\":\"allow\","
    "\"authorization.k8s.io/reason\":\"RBAC: allowed by ClusterRoleBinding \\\"ops\\\"\"}}";

static int extract(const char *json, kg_event *ev, char *err, size_t n, cJSON **root)
{
    *root = cJSON_Parse(json);
    ev->src_file = "test";
    ev->src_line = 1;
    if (event_extract(ev, *root, err, n) < 0)
        return -1;
    workload_resolve(ev); /* the engine's next step after extraction */
    return 0;
}

static void test_fields(void)
{
    kg_event ev;
    char err[256] = "";
    cJSON *root;
    ok(extract(SECRET_LIST, &ev, err, sizeof err, &root) == 0, "a realistic event extracts (%s)", err);
    is_str(ev.verb, "list", "verb");
    is_str(ev.resource, "secrets", "objectRef.resource");
    is_str(ev.ns, "payments", "objectRef.namespace");
    ok(ev.subresource == NULL && ev.name == NULL, "absent objectRef fields are NULL");
    is_str(ev.username, "arn:aws:sts::111122223333:assumed-role/ops/alice", "username");
    is_int(ev.status_code, 200, "status code");
    is_str(ev.decision, "allow", "authorization decision");
    ok(!ev.anonymous, "an IAM user is not anonymous");
    ok(ev.success, "200 + allow is success");
    is_int(ev.nips, 2, "two of three sourceIPs parse");
    is_str(ev.ip_text[1], "2001:db8::7", "the IPv6 caller is kept in order");
    is_str(ev.received_at, "2024-03-12T10:15:30.123456Z", "requestReceivedTimestamp");
    is_int(ev.time_ms, 1710238530123LL, "ev.time: requestReceivedTimestamp in epoch ms");
    is_str(ev.src_file, "test", "source file survives extraction");
    cJSON_Delete(root);
}

static void test_facts(void)
{
    kg_event ev;
    char err[256];
    cJSON *root;
    extract("{\"verb\":\"get\",\"user\":{\"username\":\"system:anonymous\","
            "\"groups\":[\"system:unauthenticated\"]},\"requestURI\":\"/healthz?verbose\","
            "\"responseStatus\":{\"code\":200},\"stage\":\"ResponseComplete\"}",
            &ev, err, sizeof err, &root);
    ok(ev.anonymous && ev.success, "anonymous and successful");
    ok(event_path_under(&ev, "/healthz"), "/healthz?verbose is under /healthz");
    ok(!event_path_under(&ev, "/health"), "/healthz is not under /health");
    cJSON_Delete(root);

    extract("{\"verb\":\"list\",\"user\":{\"username\":\"x\",\"groups\":[\"system:unauthenticated\"]},"
            "\"responseStatus\":{\"code\":403},\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\"}}",
            &ev, err, sizeof err, &root);
    ok(ev.anonymous, "the unauthenticated group is anonymous");
    ok(!ev.success, "403 is not success");
    cJSON_Delete(root);

    extract("{\"verb\":\"create\",\"user\":{\"username\":\"u\"},\"responseStatus\":{\"code\":201},"
            "\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\"}}",
            &ev, err, sizeof err, &root);
    ok(!ev.success, "a forbid decision is never success");
    cJSON_Delete(root);

    extract("{\"apiVersion\":\"audit.k8s.io/v1beta1\",\"verb\":\"get\",\"user\":{\"username\":\"u\"},"
            "\"timestamp\":\"2017-09-11T19:55:05Z\"}", &ev, err, sizeof err, &root);
    is_str(ev.received_at, "2017-09-11T19:55:05Z", "v1beta1 timestamp is the received time");
    is_int(ev.status_code, -1, "absent code is -1");
    ok(!ev.success, "no status code is not success");
    cJSON_Delete(root);
}

static void test_wrong_types(void)
{
    static const struct { const char *json, *msg; } bad[] = {
        {"{\"kind\":0}", "field kind must be a string"},
        {"{\"kind\":\"Status\",\"verb\":\"get\",\"user\":{}}", "not an audit Event (kind \"Status\")"},
        {"{\"verb\":5,\"user\":{}}", "field verb must be a string"},
        {"{\"verb\":\"get\",\"user\":\"bob\"}", "field user must be an object"},
        {"{\"verb\":\"get\",\"user\":{},\"sourceIPs\":\"1.2.3.4\"}", "field sourceIPs must be an array"},
        {"{\"verb\":\"get\",\"user\":{},\"sourceIPs\":[1]}", "field sourceIPs must hold only strings"},
        {"{\"verb\":\"get\",\"user\":{\"groups\":[\"a\",null]}}", "field user.groups must hold only strings"},
        {"{\"verb\":\"get\",\"user\":{},\"objectRef\":{\"resource\":[]}}", "field objectRef.resource must be a string"},
        {"{\"verb\":\"get\",\"user\":{},\"responseStatus\":{\"code\":\"200\"}}", "field responseStatus.code must be a number"},
        {"{\"verb\":\"get\",\"user\":{},\"responseStatus\":{\"code\":2.5}}", "field responseStatus.code is not an HTTP status"},
        {"{\"user\":{}}", "not an audit Event (no verb)"},
        {"[1,2]", "not an audit Event (a JSON array)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kg_event ev;
        char err[256] = "";
        cJSON *root;
        ok(extract(bad[i].json, &ev, err, sizeof err, &root) == -1, "rejected: %s", bad[i].json);
        is_str(err, bad[i].msg, "with a message naming the field");
        cJSON_Delete(root);
    }
}

static void test_times(void)
{
    long long ms = 0;
    char buf[32];
    ok(timefmt_parse("2024-03-12T10:15:30.123456Z", &ms) == 0, "RFC 3339 with micros parses");
    is_str(timefmt_format(ms, buf), "2024-03-12T10:15:30.123Z", "and formats with millis");
    ok(timefmt_parse("2024-03-12T12:15:30+02:00", &ms) == 0, "an offset parses");
    is_str(timefmt_format(ms, buf), "2024-03-12T10:15:30.000Z", "and is converted to UTC");
    ok(timefmt_parse("2022-11-29 00:09:04.38", &ms) == 0, "a space separator parses");
    is_str(timefmt_format(ms, buf), "2022-11-29T00:09:04.380Z", "short fractions pad");
    ok(timefmt_parse("yesterday", &ms) == -1, "garbage does not parse");
    ok(timefmt_parse("2024-03-12T10:15:30Q", &ms) == -1, "a bad zone does not parse");
    {
        kg_event ev;
        char err[256];
        cJSON *root;
        extract("{\"verb\":\"get\",\"user\":{\"username\":\"u\"},"
                "\"stageTimestamp\":\"2024-03-12T10:15:31.5Z\"}", &ev, err, sizeof err, &root);
        is_int(ev.time_ms, 1710238531500LL, "ev.time: stageTimestamp without requestReceivedTimestamp");
        event_release(&ev);
        cJSON_Delete(root);
        extract("{\"verb\":\"get\",\"user\":{\"username\":\"u\"},"
                "\"requestReceivedTimestamp\":\"soon\"}", &ev, err, sizeof err, &root);
        is_int(ev.time_ms, -1, "ev.time: -1 when no time parses");
        event_release(&ev);
        cJSON_Delete(root);
    }
}

static void test_bodies(void)
{
    kg_event ev;
    char err[256], buf[64], *json;
    cJSON *root, *partial;

    extract("{\"verb\":\"patch\",\"user\":{\"username\":\"u\"},\"objectRef\":{\"resource\":\"deployments\","
            "\"namespace\":\"prod\",\"name\":\"api\"},\"requestObject\":[{\"op\":\"add\",\"path\":"
            "\"/spec/template/spec/containers/1/securityContext\",\"value\":{\"privileged\":true}},"
            "{\"op\":\"remove\",\"path\":\"/spec/replicas\"},{\"op\":\"replace\",\"path\":\"/metadata/labels/a~1b\",\"value\":\"x\"}]}",
            &ev, err, sizeof err, &root);
    ok(ev.body && ev.body_owned, "a JSON patch becomes an owned partial object");
    json = cJSON_PrintUnformatted(ev.body);
    is_str(json, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{},{\"securityContext\":{\"privileged\":true}}]}}},"
                 "\"metadata\":{\"labels\":{\"a/b\":\"x\"}}}",
           "add and replace build the object; remove is ignored; ~1 decodes");
    cJSON_free(json);
    ok(ev.pod_spec && cJSON_GetObjectItem(ev.pod_spec, "containers"), "the pod spec is found in the template");
    is_str(ev.workload_kind, "deployments", "workload kind");
    event_release(&ev);
    ok(!ev.body_owned, "released");
    cJSON_Delete(root);

    extract("{\"verb\":\"patch\",\"user\":{},\"objectRef\":{\"resource\":\"cronjobs\"},"
            "\"requestObject\":{\"metadata\":{\"labels\":{\"x\":\"y\"}}},"
            "\"responseObject\":{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":[]}}}}}}}",
            &ev, err, sizeof err, &root);
    ok(ev.body == ev.response_object, "a logged responseObject is the body of a patch");
    ok(ev.pod_spec != NULL, "a CronJob's pod spec is under jobTemplate");
    event_release(&ev);
    cJSON_Delete(root);

    extract("{\"verb\":\"create\",\"user\":{},\"objectRef\":{\"resource\":\"pods\"},\"level\":\"Metadata\"}",
            &ev, err, sizeof err, &root);
    ok(!ev.body && !ev.pod_spec && ev.workload_kind, "Metadata level: a workload without a body");
    event_release(&ev);
    cJSON_Delete(root);

    partial = cJSON_Parse("[{\"op\":\"add\",\"path\":\"/spec/containers/99999/image\",\"value\":\"x\"},"
                          "{\"op\":\"test\",\"path\":\"/a\",\"value\":1},{\"path\":\"/b\"},7]");
    root = workload_from_json_patch(partial);
    json = root ? cJSON_PrintUnformatted(root) : NULL;
    ok(json == NULL || strlen(json) < 200, "a huge array index does not build a huge array");
    cJSON_free(json);
    cJSON_Delete(root);
    cJSON_Delete(partial);

    is_str(workload_image_prefix("registry.example.com/tools/netshoot:v0.11", buf, sizeof buf),
           "registry.example.com/tools", "imagePrefix is the image before its last /");
    is_str(workload_image_prefix("centos", buf, sizeof buf), "", "and empty without a /");
}

int main(void)
{
    test_bodies();
    test_fields();
    test_facts();
    test_wrong_types();
    test_times();
    return done_testing();
}
