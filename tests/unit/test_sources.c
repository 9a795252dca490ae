/* Unit tests for the cloud record modules: gke (LogEntry -> Event, Pub/Sub
 * push), aks (records, resourceId), eks (log group, Lambda payloads). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <gnutls/gnutls.h>
#include "kguard/aks.h"
#include "kguard/eks.h"
#include "kguard/gke.h"
#include "tap.h"

static const char *path_str(const cJSON *o, const char *path)
{
    char buf[256], *save = NULL, *tok;
    snprintf(buf, sizeof buf, "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(tok))
                             : cJSON_GetObjectItemCaseSensitive(o, tok);
    return cJSON_IsString(o) ? o->valuestring : NULL;
}

static const char *decision(const cJSON *ev)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(ev, "annotations");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "authorization.k8s.io/decision");
    return cJSON_IsString(d) ? d->valuestring : NULL;
}

static double path_num(const cJSON *o, const char *key1, const char *key2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, key1), key2);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* A GKE LogEntry around the given protoPayload members. */
static cJSON *entry(const char *pp_members, const char *more)
{
    char text[4096];
    cJSON *o;
    snprintf(text, sizeof text,
             "{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.AuditLog\","
             "\"authenticationInfo\":{\"principalEmail\":\"ops@example.com\"},"
             "\"requestMetadata\":{\"callerIp\":\"203.0.113.9\",\"callerSuppliedUserAgent\":\"kubectl/v1.30.5\"},"
             "\"serviceName\":\"k8s.io\",%s},"
             "\"insertId\":\"0b6f7f0e-1d1c-4bfa-9f0a-5c2e1d3b4a59\","
             "\"resource\":{\"type\":\"k8s_cluster\",\"labels\":{\"project_id\":\"acme-prod\","
             "\"location\":\"us-central1-c\",\"cluster_name\":\"blue\"}},"
             "\"timestamp\":\"2026-11-30T10:03:03.352110Z\",%s"
             "\"logName\":\"projects/acme-prod/logs/cloudaudit.googleapis.com%%2Factivity\"}",
             pp_members, more);
    if (!(o = cJSON_Parse(text)))
        abort();
    return o;
}

static void test_gke_exec(void)
{
    cJSON *in = entry("\"methodName\":\"io.k8s.core.v1.pods.exec.create\","
                      "\"resourceName\":\"core/v1/namespaces/kube-system/pods/coredns-5d78c-x7k2p/exec\","
                      "\"status\":{}",
                      "\"labels\":{\"authorization.k8s.io/decision\":\"allow\"},");
    kg_origin o;
    char err[256] = "";
    cJSON *ev = gke_event(in, &o, err, sizeof err);
    ok(ev != NULL, "exec entry converts (%s)", err);
    is_str(path_str(ev, "kind"), "Event", "kind Event");
    is_str(path_str(ev, "apiVersion"), "audit.k8s.io/v1", "apiVersion audit.k8s.io/v1");
    is_str(path_str(ev, "verb"), "create", "verb from methodName");
    is_str(path_str(ev, "objectRef.resource"), "pods", "resource");
    is_str(path_str(ev, "objectRef.subresource"), "exec", "subresource");
    is_str(path_str(ev, "objectRef.namespace"), "kube-system", "namespace from resourceName");
    is_str(path_str(ev, "objectRef.name"), "coredns-5d78c-x7k2p", "name from resourceName");
    is_str(path_str(ev, "objectRef.apiVersion"), "v1", "apiVersion");
    ok(!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "objectRef"), "apiGroup"),
       "no apiGroup for the core group");
    is_str(path_str(ev, "requestURI"), "/api/v1/namespaces/kube-system/pods/coredns-5d78c-x7k2p/exec",
           "requestURI rebuilt");
    is_int((long long)path_num(ev, "responseStatus", "code"), 101, "a granted exec answered 101");
    is_str(path_str(ev, "user.username"), "ops@example.com", "username from principalEmail");
    is_str(path_str(ev, "user.groups.0"), "system:authenticated", "system:authenticated group");
    is_str(path_str(ev, "sourceIPs.0"), "203.0.113.9", "sourceIPs from callerIp");
    is_str(path_str(ev, "userAgent"), "kubectl/v1.30.5", "userAgent");
    is_str(path_str(ev, "auditID"), "0b6f7f0e-1d1c-4bfa-9f0a-5c2e1d3b4a59", "auditID from insertId");
    is_str(path_str(ev, "stage"), "ResponseComplete", "stage");
    is_str(path_str(ev, "level"), "Metadata", "level Metadata without bodies");
    is_str(path_str(ev, "requestReceivedTimestamp"), "2026-11-30T10:03:03.352110Z", "timestamp");
    is_str(decision(ev), "allow", "annotations from labels");
    is_str(o.cloud, "gke", "origin cloud");
    is_str(o.cluster, "blue", "origin cluster from resource.labels");
    is_str(o.account, "acme-prod", "origin project");
    is_str(o.region, "us-central1-c", "origin location");
    cJSON_Delete(ev);
    cJSON_Delete(in);
}

static void test_gke_forbidden_rbac(void)
{
    cJSON *in = entry("\"methodName\":\"io.k8s.authorization.rbac.v1.clusterrolebindings.create\","
                      "\"resourceName\":\"rbac.authorization.k8s.io/v1/clusterrolebindings/anon-view\","
                      "\"authorizationInfo\":[{\"permission\":\"io.k8s.authorization.rbac.v1.clusterrolebindings.create\","
                      "\"resource\":\"rbac.authorization.k8s.io/v1/clusterrolebindings/anon-view\"}],"
                      "\"status\":{\"code\":7,\"message\":\"PERMISSION_DENIED\"},"
                      "\"request\":{\"@type\":\"rbac.authorization.k8s.io/v1.ClusterRoleBinding\","
                      "\"kind\":\"ClusterRoleBinding\",\"roleRef\":{\"name\":\"view\"}}",
                      "");
    char err[256] = "";
    cJSON *ev = gke_event(in, NULL, err, sizeof err);
    const cJSON *req;
    ok(ev != NULL, "forbidden entry converts (%s)", err);
    is_str(path_str(ev, "objectRef.apiGroup"), "rbac.authorization.k8s.io", "group from resourceName");
    is_str(path_str(ev, "objectRef.name"), "anon-view", "cluster-scoped name");
    ok(!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "objectRef"), "namespace"),
       "no namespace for a cluster-scoped object");
    is_str(path_str(ev, "requestURI"), "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/anon-view",
           "requestURI under /apis");
    is_int((long long)path_num(ev, "responseStatus", "code"), 403, "PERMISSION_DENIED is 403");
    is_str(path_str(ev, "responseStatus.reason"), "Forbidden", "reason Forbidden");
    is_str(path_str(ev, "responseStatus.status"), "Failure", "status Failure");
    is_str(decision(ev), "forbid",
           "decision forbid derived when the labels lack it");
    is_str(path_str(ev, "level"), "Request", "level Request with a request body");
    req = cJSON_GetObjectItemCaseSensitive(ev, "requestObject");
    ok(req && !cJSON_GetObjectItemCaseSensitive(req, "@type"), "requestObject without @type");
    is_str(path_str(ev, "requestObject.roleRef.name"), "view", "requestObject kept");
    cJSON_Delete(ev);
    cJSON_Delete(in);
}

static void test_gke_codes_and_groups(void)
{
    static const struct {
        const char *members, *what;
        int code;
        const char *group;
    } cases[] = {
        {"\"methodName\":\"io.k8s.apps.v1.deployments.patch\","
         "\"resourceName\":\"apps/v1/namespaces/web/deployments/front\",\"status\":{}",
         "patch answered 200", 200, "apps"},
        {"\"methodName\":\"io.k8s.core.v1.pods.create\","
         "\"resourceName\":\"core/v1/namespaces/web/pods/p\"", "create answered 201", 201, NULL},
        {"\"methodName\":\"io.k8s.core.v1.secrets.get\",\"resourceName\":\"core/v1/namespaces/web/secrets/s\","
         "\"status\":{\"code\":5,\"message\":\"NOT_FOUND\"}", "NOT_FOUND is 404", 404, NULL},
        {"\"methodName\":\"io.k8s.batch.v1.cronjobs.update\",\"status\":{}",
         "group from methodName without resourceName", 200, "batch"},
        {"\"methodName\":\"io.k8s.networking.v1.networkpolicies.delete\",\"status\":{\"code\":16}",
         "UNAUTHENTICATED is 401; dotted group from methodName", 401, "networking.k8s.io"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *in = entry(cases[i].members, ""), *ev;
        char err[256] = "";
        ev = gke_event(in, NULL, err, sizeof err);
        is_int(ev ? (long long)path_num(ev, "responseStatus", "code") : -2, cases[i].code, cases[i].what);
        is_str(path_str(ev, "objectRef.apiGroup"), cases[i].group, "apiGroup");
        cJSON_Delete(ev);
        cJSON_Delete(in);
    }
}

static void test_gke_users(void)
{
    cJSON *in = cJSON_Parse("{\"protoPayload\":{\"authenticationInfo\":{\"principalEmail\":"
                            "\"system:serviceaccount:ci:deployer\"},\"methodName\":\"io.k8s.core.v1.pods.list\","
                            "\"resourceName\":\"core/v1/namespaces/ci/pods\"}}");
    char err[256] = "";
    cJSON *ev = gke_event(in, NULL, err, sizeof err);
    is_str(path_str(ev, "user.groups.0"), "system:serviceaccounts", "service account groups");
    is_str(path_str(ev, "user.groups.1"), "system:serviceaccounts:ci", "service account namespace group");
    is_str(path_str(ev, "objectRef.namespace"), "ci", "list in a namespace: namespace");
    ok(!path_str(ev, "objectRef.name"), "list in a namespace: no name");
    ok(!cJSON_GetObjectItemCaseSensitive(ev, "auditID"), "no auditID without insertId or operation");
    cJSON_Delete(ev);
    cJSON_Delete(in);

    in = cJSON_Parse("{\"protoPayload\":{\"authenticationInfo\":{\"principalEmail\":\"system:anonymous\"},"
                     "\"methodName\":\"io.k8s.core.v1.namespaces.get\",\"resourceName\":\"core/v1/namespaces/prod\"}}");
    ev = gke_event(in, NULL, err, sizeof err);
    is_str(path_str(ev, "user.groups.0"), "system:unauthenticated", "anonymous: system:unauthenticated");
    is_str(path_str(ev, "objectRef.name"), "prod", "a namespace's own name");
    ok(!path_str(ev, "objectRef.namespace"), "a namespace has no namespace");
    cJSON_Delete(ev);
    cJSON_Delete(in);
}

static void test_gke_nonresource(void)
{
    cJSON *in = entry("\"methodName\":\"io.k8s.readyz\",\"resourceName\":\"/readyz\",\"status\":{}", "");
    char err[256] = "";
    cJSON *ev = gke_event(in, NULL, err, sizeof err);
    is_str(path_str(ev, "verb"), "get", "non-resource request: verb get");
    is_str(path_str(ev, "requestURI"), "/readyz", "non-resource request: the path from resourceName");
    ok(ev && !cJSON_GetObjectItemCaseSensitive(ev, "objectRef"), "non-resource request: no objectRef");
    cJSON_Delete(ev);
    cJSON_Delete(in);
    in = entry("\"methodName\":\"io.k8s.livez.ping\",\"status\":{}", "");
    ev = gke_event(in, NULL, err, sizeof err);
    is_str(path_str(ev, "requestURI"), "/livez/ping", "non-resource request: the path from methodName");
    cJSON_Delete(ev);
    cJSON_Delete(in);
}

static void test_gke_rejects(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"protoPayload\":{\"methodName\":\"v2.deploymentmanager.deployments.insert\","
         "\"serviceName\":\"deploymentmanager.googleapis.com\",\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}",
         "serviceName deploymentmanager.googleapis.com"},
        {"{\"protoPayload\":{\"methodName\":\"google.container.v1.ClusterManager.CreateCluster\","
         "\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}", "is not a Kubernetes API method"},
        {"{\"protoPayload\":{\"methodName\":\"io.k8s.core.v1.pods.get\"}}", "principalEmail"},
        {"{\"protoPayload\":{\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}", "methodName"},
        {"{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.Other\",\"methodName\":\"io.k8s.core.v1.pods.get\","
         "\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}", "not an AuditLog"},
        {"{\"protoPayload\":{\"methodName\":\"io.k8s.core.v1.a.b.c.d.get\","
         "\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}", "not a Kubernetes API method"},
        {"{\"protoPayload\":{\"methodName\":\"io.k8s.core.v1.create\",\"resourceName\":\"core/v1/pods\","
         "\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}", "not a Kubernetes API method"},
        {"{\"protoPayload\":{\"methodName\":\"io.k8s.\",\"authenticationInfo\":{\"principalEmail\":\"a@b\"}}}",
         "not a Kubernetes API method"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *in = cJSON_Parse(cases[i].json);
        char err[256] = "";
        cJSON *ev = gke_event(in, NULL, err, sizeof err);
        ok(!ev && strstr(err, cases[i].want), "rejected: %s", err);
        cJSON_Delete(ev);
        cJSON_Delete(in);
    }
}

static void test_push(void)
{
    cJSON *env = cJSON_Parse("{\"message\":{\"data\":\"eyJpbnNlcnRJZCI6IngifQ==\",\"messageId\":\"1\"},"
                             "\"subscription\":\"projects/p/subscriptions/s\"}");
    size_t len = 0;
    char err[256] = "", *text;
    ok(gke_is_push(env), "push envelope recognised");
    text = gke_push_data(env, 1000, &len, err, sizeof err);
    is_str(text, "{\"insertId\":\"x\"}", "message.data decoded");
    free(text);
    cJSON_Delete(env);
    env = cJSON_Parse("{\"message\":{\"data\":\"!!not base64!!\"},\"subscription\":\"s\"}");
    text = gke_push_data(env, 1000, &len, err, sizeof err);
    ok(!text && strstr(err, "base64"), "bad base64 rejected (%s)", err);
    cJSON_Delete(env);
}

static void test_aks(void)
{
    cJSON *rec = cJSON_Parse("{\"category\":\"kube-audit-admin\",\"properties\":{\"log\":\"{}\\n\"},"
                             "\"resourceId\":\"/SUBSCRIPTIONS/0F4B3C2A-9D8E/RESOURCEGROUPS/RG/PROVIDERS/"
                             "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PAYMENTS\"}");
    kg_origin o;
    char err[256] = "";
    ok(aks_is_record(rec), "AKS record recognised");
    ok(cJSON_IsString(aks_log(rec, err, sizeof err)), "properties.log as a string");
    aks_origin(rec, &o);
    is_str(o.cluster, "payments", "cluster from resourceId, lower-case");
    is_str(o.account, "0f4b3c2a-9d8e", "subscription from resourceId");
    cJSON_Delete(rec);
    rec = cJSON_Parse("{\"category\":\"kube-apiserver\",\"properties\":{\"log\":\"I1130 started\"}}");
    ok(!aks_log(rec, err, sizeof err) && strstr(err, "kube-apiserver"), "other category rejected (%s)", err);
    cJSON_Delete(rec);
    rec = cJSON_Parse("{\"category\":\"kube-audit\",\"properties\":{\"pod\":\"x\"}}");
    ok(!aks_log(rec, err, sizeof err) && strstr(err, "properties.log"), "no log rejected (%s)", err);
    cJSON_Delete(rec);
}

static char *lambda_event(const char *payload)
{
    unsigned char gz[4096];
    z_stream zs = {0};
    gnutls_datum_t in, out;
    char *json;
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)(uintptr_t)payload;
    zs.avail_in = (uInt)strlen(payload);
    zs.next_out = gz;
    zs.avail_out = sizeof gz;
    deflate(&zs, Z_FINISH);
    in.data = gz;
    in.size = (unsigned)zs.total_out;
    deflateEnd(&zs);
    if (gnutls_base64_encode2(&in, &out) < 0)
        abort();
    json = malloc(out.size + 64);
    snprintf(json, out.size + 64, "{\"awslogs\":{\"data\":\"%.*s\"}}", (int)out.size, out.data);
    gnutls_free(out.data);
    return json;
}

static void test_eks(void)
{
    char name[64], err[256] = "", *text, *ev_text;
    cJSON *ev;
    size_t len;
    kg_origin o;
    ok(eks_cluster_of_group("/aws/eks/payments-prod/cluster", name, sizeof name) &&
           strcmp(name, "payments-prod") == 0, "cluster from the log group");
    ok(!eks_cluster_of_group("/aws/lambda/fn", name, sizeof name), "other log groups: none");
    ok(!eks_cluster_of_group("/aws/eks//cluster", name, sizeof name), "empty name: none");
    ev_text = lambda_event("{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\","
                           "\"logGroup\":\"/aws/eks/blue/cluster\",\"logEvents\":[]}");
    ev = cJSON_Parse(ev_text);
    ok(eks_is_lambda(ev), "Lambda event recognised");
    text = eks_lambda_payload(ev, 1 << 20, &len, err, sizeof err);
    ok(text && strstr(text, "\"owner\":\"123456789012\""), "awslogs.data decoded and decompressed (%s)", err);
    if (text) {
        cJSON *payload = cJSON_Parse(text);
        eks_origin(payload, &o);
        is_str(o.cluster, "blue", "origin cluster");
        is_str(o.account, "123456789012", "origin account from owner");
        cJSON_Delete(payload);
    }
    free(text);
    free(ev_text);
    cJSON_Delete(ev);
    ev = cJSON_Parse("{\"awslogs\":{\"data\":\"eyJhIjoxfQ==\"}}");
    ok(!eks_lambda_payload(ev, 1000, &len, err, sizeof err) && strstr(err, "not gzip"),
       "uncompressed awslogs.data rejected (%s)", err);
    cJSON_Delete(ev);
}

int main(void)
{
    test_gke_exec();
    test_gke_forbidden_rbac();
    test_gke_codes_and_groups();
    test_gke_users();
    test_gke_nonresource();
    test_gke_rejects();
    test_push();
    test_aks();
    test_eks();
    return done_testing();
}
