/* Unit tests for the declarative match conditions (rules_match.c): one rule
 * per condition, loaded from a temporary rules directory, judged against
 * audit events shaped like the API server writes them.  A new condition
 * adds its rule to RULES and its cases to test_conditions. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kguard/event.h"
#include "kguard/rules.h"
#include "kguard/workload.h"
#include "tap.h"

static const struct { const char *file, *match; } RULES[] = {
    {"anonymous.lua", "api = { \"list secrets\" }, anonymous = true"},
    {"failed.lua", "api = { \"list secrets\" }, success = false"},
    {"payments.lua", "api = { \"* secrets\" }, namespaces = { \"payments\" }"},
    {"not_health.lua", "anonymous = true, exclude_paths = { \"/healthz\", \"/version\" }"},
    {"body.lua", "api = { \"create pods\" }, body = true"},
    {"privileged.lua", "api = { \"create pods\", \"patch deployments\" }, privileged = true"},
    {"host_path.lua", "api = { \"create pods\" }, host_path = true"},
    {"no_host_path.lua", "api = { \"create pods\" }, host_path = false"},
    {"two_ns.lua", "api = { \"get secrets\", \"list secrets\" }, namespaces = { \"billing\", \"payments\" }"},
};
#define N_RULES (sizeof RULES / sizeof RULES[0])

static char dir[] = "/tmp/kguard-match-XXXXXX";
static char fired[N_RULES + 1];    /* '1' per rule that fired, in RULES order */
static int body_missing;
static char load_errors[2048];

/* "anonymous.lua" -> "Discovery:Kubernetes/Test_anonymous" */
static void write_rule(const char *file, const char *match)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "w");
    fprintf(f, "return {\n  type = \"Discovery:Kubernetes/Test_%.*s\",\n  severity = \"Low\",\n"
               "  title = \"t\", description = \"d\", remediation = \"r\",\n  match = { %s },\n}\n",
            (int)(strlen(file) - 4), file, match);
    fclose(f);
}

static void on_fire(void *ud, const kg_event *ev, const kg_match *m)
{
    const char *name = strchr(m->rule->type, '_') + 1;
    (void)ud, (void)ev;
    for (size_t i = 0; i < N_RULES; i++)
        if (strncmp(RULES[i].file, name, strlen(name)) == 0 && RULES[i].file[strlen(name)] == '.')
            fired[i] = '1';
}

static void on_rule_error(void *ud, const kg_event *ev, const kg_rule *r, const char *msg)
{
    (void)ud, (void)ev, (void)r;
    printf("# rule error: %s\n", msg);
}

static void on_body_missing(void *ud, const kg_event *ev)
{
    (void)ud, (void)ev;
    body_missing++;
}

static void on_load_error(void *ud, const char *msg)
{
    (void)ud;
    if (load_errors[0])
        strncat(load_errors, "; ", sizeof load_errors - strlen(load_errors) - 1);
    strncat(load_errors, msg, sizeof load_errors - strlen(load_errors) - 1);
}

static kg_ruleset *load(void)
{
    const char *root = getenv("KGUARD_ROOT");
    char lualib[1024], err[512] = "";
    kg_ruleset_opts o = {dir, lualib, NULL, NULL, 0, 0, 0, on_load_error, NULL, 0};
    kg_ruleset *rs;
    snprintf(lualib, sizeof lualib, "%s/lualib", root ? root : ".");
    load_errors[0] = '\0';
    rs = ruleset_load(&o, err, sizeof err);
    if (!rs)
        printf("# %s\n", err);
    return rs;
}

/* Judge one event; returns the fired rules as a string of '0'/'1'. */
static const char *judge(kg_ruleset *rs, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    kg_event ev = {0};
    char err[256];
    kg_judge_cb cb = {on_fire, on_rule_error, on_body_missing, rs};
    memset(fired, '0', N_RULES);
    fired[N_RULES] = '\0';
    body_missing = 0;
    if (!root || event_extract(&ev, root, err, sizeof err) < 0) {
        printf("# bad event: %s\n", root ? err : "JSON");
    } else {
        workload_resolve(&ev);
        ruleset_judge(rs, &ev, &cb);
    }
    event_release(&ev);
    cJSON_Delete(root);
    return fired;
}

#define EV_HEAD(verb, uri) \
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"0b7a3c1e-5d2f-4e8a-9c61-2f4d8e9a1b30\"," \
    "\"stage\":\"ResponseComplete\",\"verb\":\"" verb "\",\"requestURI\":\"" uri "\"," \
    "\"sourceIPs\":[\"198.51.100.23\"],\"userAgent\":\"kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819\"," \
    "\"requestReceivedTimestamp\":\"2024-05-02T09:14:07.412345Z\",\"stageTimestamp\":\"2024-05-02T09:14:07.431207Z\","
#define ALICE "\"user\":{\"username\":\"alice@example.com\",\"groups\":[\"system:authenticated\"]},"
#define ANON "\"user\":{\"username\":\"system:anonymous\",\"groups\":[\"system:unauthenticated\"]},"
#define OK_200 "\"responseStatus\":{\"metadata\":{},\"code\":200}"
#define FORBIDDEN "\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403}," \
    "\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\",\"authorization.k8s.io/reason\":\"\"}"
#define SECRETS(ns) "\"objectRef\":{\"resource\":\"secrets\",\"namespace\":\"" ns "\",\"apiVersion\":\"v1\"},"
#define POD "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"default\",\"name\":\"debug\",\"apiVersion\":\"v1\"},"
#define CREATED "\"responseStatus\":{\"metadata\":{},\"code\":201}"

static void test_conditions(kg_ruleset *rs)
{
    /*                                         anon fail pay  health body priv hp nohp two_ns */
    is_str(judge(rs, EV_HEAD("list", "/api/v1/namespaces/payments/secrets?limit=500")
                     "\"level\":\"Metadata\"," ALICE SECRETS("payments") OK_200 "}"),
           "001000001", "alice lists secrets in payments: only the namespaces rules");
    is_str(judge(rs, EV_HEAD("list", "/api/v1/namespaces/billing/secrets?limit=500")
                     "\"level\":\"Metadata\"," ALICE SECRETS("billing") OK_200 "}"),
           "000000001", "in billing: only the rule naming billing among its namespaces");
    is_str(judge(rs, EV_HEAD("delete", "/api/v1/namespaces/billing/secrets/db")
                     "\"level\":\"Metadata\"," ALICE SECRETS("billing") OK_200 "}"),
           "000000000", "a delete in billing: not a verb two_ns names");
    is_str(judge(rs, EV_HEAD("list", "/api/v1/namespaces/default/secrets")
                     "\"level\":\"Metadata\"," ANON SECRETS("default") FORBIDDEN "}"),
           "110100000", "an anonymous forbidden list: anonymous, success = false, exclude_paths");
    is_str(judge(rs, EV_HEAD("get", "/healthz/etcd?verbose")
                     "\"level\":\"Metadata\"," ANON OK_200 "}"),
           "000000000", "/healthz/etcd?verbose is under an excluded path");
    is_str(judge(rs, EV_HEAD("get", "/healthzx")
                     "\"level\":\"Metadata\"," ANON OK_200 "}"),
           "000100000", "/healthzx is not under /healthz");

    is_str(judge(rs, EV_HEAD("create", "/api/v1/namespaces/default/pods?fieldManager=kubectl-run")
                     "\"level\":\"Metadata\"," ALICE POD CREATED "}"),
           "000000000", "a pod created at Metadata level: no body, no body rule");
    is_int(body_missing, 1, "the body rules asked for a body once for the event");

    is_str(judge(rs, EV_HEAD("create", "/api/v1/namespaces/default/pods?fieldManager=kubectl-run")
                     "\"level\":\"Request\"," ALICE POD
                     "\"requestObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"debug\"},"
                     "\"spec\":{\"containers\":[{\"name\":\"debug\",\"image\":\"nicolaka/netshoot\","
                     "\"securityContext\":{\"privileged\":true},"
                     "\"volumeMounts\":[{\"name\":\"host\",\"mountPath\":\"/host\"}]}],"
                     "\"volumes\":[{\"name\":\"host\",\"hostPath\":{\"path\":\"/\",\"type\":\"\"}}]}}," CREATED "}"),
           "000011100", "a privileged pod mounting / : body, privileged, host_path");
    is_int(body_missing, 0, "no body missing");

    is_str(judge(rs, EV_HEAD("create", "/api/v1/namespaces/default/pods")
                     "\"level\":\"Request\"," ALICE POD
                     "\"requestObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"debug\"},"
                     "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\"}]}}," CREATED "}"),
           "000010010", "a plain pod: body and host_path = false only");

    is_str(judge(rs, EV_HEAD("patch", "/apis/apps/v1/namespaces/default/deployments/api?fieldManager=kubectl-patch")
                     "\"level\":\"Request\"," ALICE
                     "\"objectRef\":{\"resource\":\"deployments\",\"namespace\":\"default\",\"name\":\"api\","
                     "\"apiGroup\":\"apps\",\"apiVersion\":\"v1\"},"
                     "\"requestObject\":[{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/securityContext\","
                     "\"value\":{\"privileged\":true}}]," OK_200 "}"),
           "000001000", "a JSON patch making a deployment privileged: privileged (indexed by patch deployments)");
}

static void test_bad_match(void)
{
    kg_ruleset *rs;
    write_rule("zz_bad.lua", "api = { \"list secrets\" }, verbs = { \"get\" }");
    rs = load();
    ok(!rs, "an unknown match key fails the load");
    ok(strstr(load_errors, "zz_bad.lua") && strstr(load_errors, "verbs"),
       "the error names the file and the key (%s)", load_errors);
    ruleset_free(rs);
    write_rule("zz_bad.lua", "api = { \"list secrets\" }, ip_list = \"botnet\"");
    rs = load();
    ok(!rs && strstr(load_errors, "zz_bad.lua:") &&
       strstr(load_errors, "match.ip_list must be \"tor\", \"malicious\" or \"custom\""),
       "a bad ip_list kind is reported with file:line (%s)", load_errors);
    ruleset_free(rs);
    write_rule("zz_bad.lua", "privileged = \"yes\"");
    rs = load();
    ok(!rs && strstr(load_errors, "match.privileged must be true or false"),
       "a condition of the wrong type is reported (%s)", load_errors);
    ruleset_free(rs);
    write_rule("zz_bad.lua", "namespaces = {}");
    rs = load();
    ok(!rs && strstr(load_errors, "match.namespaces must be a non-empty list of strings"),
       "an empty list is reported (%s)", load_errors);
    ruleset_free(rs);
    snprintf(load_errors, sizeof load_errors, "%s/zz_bad.lua", dir);
    unlink(load_errors);
}

int main(void)
{
    kg_ruleset *rs;
    if (!mkdtemp(dir)) {
        printf("1..0 # SKIP no temporary directory\n");
        return 0;
    }
    for (size_t i = 0; i < N_RULES; i++)
        write_rule(RULES[i].file, RULES[i].match);
    rs = load();
    ok(rs && ruleset_count(rs) == N_RULES, "the condition rules load (%s)", load_errors);
    if (rs)
        test_conditions(rs);
    ruleset_free(rs);
    test_bad_match();
    for (size_t i = 0; i < N_RULES; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, RULES[i].file);
        unlink(path);
    }
    rmdir(dir);
    return done_testing();
}
