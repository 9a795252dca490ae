/*
 * Unit tests for the output formats: the shipped example scanned by kguard,
 * each finding rendered in every format and checked field by field against
 * the documented schemas (ASFF, OCSF 1.4 Detection Finding, Falco's JSON
 * alert), plus the text line and the summary table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/timefmt.h"
#include "kguard/format.h"
#include "tap.h"

#define MAX_FINDINGS 64

static cJSON *findings[MAX_FINDINGS];
static int nfindings;
static const kg_format_opts OPTS = {"9.9.9-test", "kg-test-host", 0};

/* The example scanned by the kguard under test (KGUARD, from KGUARD_ROOT). */
static int load_findings(void)
{
    const char *bin = getenv("KGUARD"), *root = getenv("KGUARD_ROOT");
    char cmd[4096], line[1 << 16];
    FILE *p;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' scan --literal-lists --tor-exits examples/tor-exits.txt --malicious-ips "
             "examples/malicious-ips.txt --threat-list partner-feed=examples/partner-feed.txt "
             "--cluster demo --account-id 111122223333 --region eu-west-1 examples/audit.log 2>/dev/null",
             root ? root : ".", bin ? bin : "./kguard");
    if (!(p = popen(cmd, "r")))
        return -1;
    while (nfindings < MAX_FINDINGS && fgets(line, sizeof line, p))
        if ((findings[nfindings] = cJSON_Parse(line)) != NULL)
            nfindings++;
    return pclose(p) == 0 ? 0 : -1;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *get(const cJSON *o, const char *path)
{
    char key[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(key))
                             : cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (path[n] == '.');
    }
    return (cJSON *)o;
}

static const char *gstr(const cJSON *o, const char *path)
{
    const cJSON *v = get(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double gnum(const cJSON *o, const char *path)
{
    const cJSON *v = get(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Characters (UTF-8 code points) of s; -1 when s is not valid UTF-8. */
static long utf8_chars(const char *s)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        int extra = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                  : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0)
            return -1;
        p++;
        for (; extra > 0; extra--, p++)
            if ((*p & 0xC0) != 0x80)
                return -1;
    }
    return n;
}

static int is_rfc3339(const char *s)
{
    long long ms;
    return s && strlen(s) >= 20 && s[10] == 'T' && timefmt_parse(s, &ms) == 0;
}

static char *render(const char *name, const cJSON *f, const kg_format_opts *o)
{
    const kg_format *fmt = format_find(name);
    return fmt ? fmt->render(f, o) : NULL;
}

static cJSON *render_json(const char *name, const cJSON *f)
{
    char *s = render(name, f, &OPTS);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    return j;
}

/* ---- the table ---------------------------------------------------------- */

static void test_table(void)
{
    size_t n = 0;
    const kg_format *all = format_all(&n);
    cJSON *empty = cJSON_CreateObject();
    is_int((long long)n, 5, "five formats in the table");
    for (size_t i = 0; i < n; i++) {
        ok(format_find(all[i].name) == &all[i], "format_find(%s)", all[i].name);
        ok(strstr(format_names(), all[i].name) != NULL, "format_names lists %s", all[i].name);
        ok(all[i].render(empty, &OPTS) == NULL, "%s refuses an object that is not a finding",
           all[i].name);
    }
    ok(format_find("xml") == NULL && format_find(NULL) == NULL, "no format xml");
    ok(format_find("json") == format_find("guardduty"), "json is guardduty's other name");
    ok(format_find("text")->summary != NULL && format_find("asff")->summary == NULL,
       "text has a summary, asff none");
    cJSON_Delete(empty);
}

/* Every finding of the example, in every format: one line; JSON formats
 * parse; guardduty is the finding unchanged. */
static void test_replay(void)
{
    size_t n = 0;
    const kg_format *all = format_all(&n);
    int lines = 0, json_ok = 0, one_line = 0, same = 0;
    for (int i = 0; i < nfindings; i++) {
        for (size_t k = 0; k < n; k++) {
            char *s = all[k].render(findings[i], &OPTS);
            cJSON *j = s && strcmp(all[k].name, "text") != 0 ? cJSON_Parse(s) : NULL;
            lines += s != NULL;
            one_line += s && !strchr(s, '\n');
            json_ok += j != NULL || strcmp(all[k].name, "text") == 0;
            if (strcmp(all[k].name, "guardduty") == 0)
                same += j && cJSON_Compare(j, findings[i], 1);
            cJSON_Delete(j);
            free(s);
        }
    }
    is_int(lines, nfindings * (int)n, "every finding renders in every format");
    is_int(one_line, lines, "each rendering is one line");
    is_int(json_ok, lines, "the JSON formats parse");
    is_int(same, nfindings, "guardduty is the finding as built");
}

/* ---- ASFF ------------------------------------------------------------------ */

static int asff_type_ok(const char *t)
{
    static const char *const ns[] = {"Software and Configuration Checks/", "TTPs/", "Effects/",
                                     "Unusual Behaviors/", "Sensitive Data Identifications/"};
    int slashes = 0;
    for (const char *p = t; *p; p++)
        slashes += *p == '/';
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        if (strncmp(t, ns[i], strlen(ns[i])) == 0)
            return slashes <= 2;
    return 0;
}

static int label_range_ok(const char *label, double norm)
{
    return (strcmp(label, "INFORMATIONAL") == 0 && norm == 0) ||
           (strcmp(label, "LOW") == 0 && norm >= 1 && norm <= 39) ||
           (strcmp(label, "MEDIUM") == 0 && norm >= 40 && norm <= 69) ||
           (strcmp(label, "HIGH") == 0 && norm >= 70 && norm <= 89) ||
           (strcmp(label, "CRITICAL") == 0 && norm >= 90 && norm <= 100);
}

static int product_fields_ok(const cJSON *pf)
{
    const cJSON *it;
    if (!cJSON_IsObject(pf) || cJSON_GetArraySize(pf) > 50)
        return 0;
    cJSON_ArrayForEach(it, pf)
        if (!cJSON_IsString(it) || strlen(it->string) > 128 || utf8_chars(it->valuestring) > 2048)
            return 0;
    return 1;
}

static int resources_ok(const cJSON *rs)
{
    const cJSON *r;
    if (!cJSON_IsArray(rs) || cJSON_GetArraySize(rs) < 1 || cJSON_GetArraySize(rs) > 32)
        return 0;
    cJSON_ArrayForEach(r, rs)
        if (!str(r, "Type") || !str(r, "Id"))
            return 0;
    return 1;
}

/* The attributes BatchImportFindings requires, with their types and limits. */
static int asff_required_ok(const cJSON *a, const cJSON *f)
{
    const char *acct = str(a, "AwsAccountId");
    const cJSON *types = get(a, "Types"), *t;
    int ok_types = cJSON_IsArray(types) && cJSON_GetArraySize(types) >= 1 &&
                   cJSON_GetArraySize(types) <= 50;
    cJSON_ArrayForEach(t, types)
        ok_types &= cJSON_IsString(t) && asff_type_ok(t->valuestring);
    return ok_types && acct && strlen(acct) == 12 && strspn(acct, "0123456789") == 12 &&
           strcmp(str(a, "SchemaVersion"), "2018-10-08") == 0 && str(a, "Id") &&
           strlen(str(a, "Id")) <= 512 && str(a, "GeneratorId") && strlen(str(a, "GeneratorId")) <= 512 &&
           str(a, "ProductArn") && is_rfc3339(str(a, "CreatedAt")) && is_rfc3339(str(a, "UpdatedAt")) &&
           is_rfc3339(str(a, "FirstObservedAt")) && is_rfc3339(str(a, "LastObservedAt")) &&
           gstr(a, "Severity.Label") && label_range_ok(gstr(a, "Severity.Label"), gnum(a, "Severity.Normalized")) &&
           gnum(a, "Severity.Normalized") == floor(gnum(a, "Severity.Normalized")) &&
           str(a, "Title") && utf8_chars(str(a, "Title")) <= 256 && str(a, "Description") &&
           utf8_chars(str(a, "Description")) <= 1024 &&
           (!get(a, "Remediation") || utf8_chars(gstr(a, "Remediation.Recommendation.Text")) <= 512) &&
           resources_ok(get(a, "Resources")) && product_fields_ok(get(a, "ProductFields")) &&
           strcmp(str(a, "CreatedAt"), str(f, "createdAt")) == 0 &&
           strcmp(str(a, "UpdatedAt"), str(f, "updatedAt")) == 0;
}

static void test_asff(void)
{
    int valid = 0, stable_ids = 1;
    cJSON *a;
    for (int i = 0; i < nfindings; i++) {
        a = render_json("asff", findings[i]);
        valid += a && asff_required_ok(a, findings[i]);
        for (int j = 0; j < i && a; j++) {
            cJSON *b;
            if (strcmp(str(findings[i], "id"), str(findings[j], "id")) != 0)
                continue;
            b = render_json("asff", findings[j]);
            stable_ids &= b && strcmp(str(a, "Id"), str(b, "Id")) == 0;
            cJSON_Delete(b);
        }
        cJSON_Delete(a);
    }
    is_int(valid, nfindings, "every ASFF finding has the required fields, types and limits");
    ok(stable_ids, "an update keeps the ASFF Id of its finding");

    a = render_json("asff", findings[0]);
    is_str(str(a, "ProductArn"),
           "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default",
           "ProductArn of a custom integration");
    is_str(gstr(a, "Types.0"), "TTPs/Discovery/Discovery:Kubernetes-SuccessfulAnonymousAccess",
           "Types: TTPs/<tactic>/<type with - for />");
    is_str(gstr(a, "Severity.Label"), "MEDIUM", "severity 5 is MEDIUM");
    is_int((long long)gnum(a, "Severity.Normalized"), 50, "Normalized is the severity times ten");
    is_str(gstr(a, "Resources.0.Type"), "AwsEksCluster", "the cluster is the first resource");
    is_str(gstr(a, "Resources.0.Id"), "arn:aws:eks:eu-west-1:111122223333:cluster/demo", "cluster ARN");
    is_str(gstr(a, "Resources.0.Details.AwsEksCluster.Name"), "demo", "AwsEksCluster.Name");
    is_str(gstr(a, "Network.SourceIpV4"), "203.0.113.77", "the caller's address");
    is_str(gstr(a, "ProductFields.kguard/username"), "system:anonymous", "username in ProductFields");
    is_str(gstr(a, "ProductFields.kguard/version"), "9.9.9-test", "kguard's version in ProductFields");
    is_str(str(a, "RecordState"), "ACTIVE", "an active finding");
    cJSON_Delete(a);
}

/* Over-long text is cut to ASFF's limits on a character boundary. */
static void test_asff_limits(void)
{
    cJSON *f = cJSON_Duplicate(findings[0], 1), *a;
    char title[1200] = "", desc[8000] = "";
    const char *t, *d;
    for (int i = 0; i < 299; i++)
        strcat(title, "\xc3\xa9");          /* é: two bytes, one character */
    for (int i = 0; i < 1500; i++)
        strcat(desc, "x\xe2\x82\xac");     /* x€ */
    cJSON_ReplaceItemInObject(f, "title", cJSON_CreateString(title));
    cJSON_ReplaceItemInObject(f, "description", cJSON_CreateString(desc));
    cJSON_ReplaceItemInObject(f, "type", cJSON_CreateString("Reconnaissance:Kubernetes/Mine"));
    cJSON_ReplaceItemInObject(get(f, "service"), "archived", cJSON_CreateTrue());
    a = render_json("asff", f);
    t = str(a, "Title");
    d = str(a, "Description");
    is_int(utf8_chars(t), 256, "a 299-character title is cut to 256 characters");
    ok(t && strcmp(t + strlen(t) - 3, "...") == 0, "a cut title ends in ...");
    is_int(utf8_chars(d), 1024, "a long description is cut to 1024 characters, valid UTF-8");
    is_str(gstr(a, "Types.0"), "Unusual Behaviors/Application/Reconnaissance:Kubernetes-Mine",
           "an unknown tactic goes to Unusual Behaviors");
    is_str(str(a, "RecordState"), "ARCHIVED", "a suppressed finding is ARCHIVED");
    cJSON_Delete(a);
    cJSON_Delete(f);
}

/* ---- OCSF ------------------------------------------------------------------ */

static int ocsf_severity_of(double s)
{
    return s >= 9 ? 5 : s >= 7 ? 4 : s >= 4 ? 3 : s >= 1 ? 2 : 1;
}

static int ocsf_ok(const cJSON *o, const cJSON *f)
{
    double activity = gnum(o, "activity_id"), count = gnum(f, "service.count");
    long long created;
    timefmt_parse(str(f, "createdAt"), &created);
    return gnum(o, "class_uid") == 2004 && gnum(o, "category_uid") == 2 &&
           (activity == 1 || activity == 2) && (activity == 2) == (count > 1) &&
           gnum(o, "type_uid") == 2004 * 100 + activity &&
           strcmp(str(o, "activity_name"), activity == 1 ? "Create" : "Update") == 0 &&
           gnum(o, "severity_id") == ocsf_severity_of(gnum(f, "severity")) &&
           gnum(o, "status_id") == 1 && strcmp(str(o, "status"), "New") == 0 &&
           cJSON_IsNumber(get(o, "time")) && gnum(o, "time") == floor(gnum(o, "time")) &&
           gnum(o, "finding_info.created_time") == (double)created &&
           gnum(o, "count") == count && strcmp(gstr(o, "metadata.version"), "1.4.0") == 0 &&
           gstr(o, "metadata.product.name") && gstr(o, "metadata.product.vendor_name") &&
           strcmp(gstr(o, "finding_info.uid"), str(f, "id")) == 0 &&
           strcmp(gstr(o, "finding_info.types.0"), str(f, "type")) == 0 &&
           gnum(o, "finding_info.analytic.type_id") == 1 &&
           gstr(o, "api.operation") && gstr(o, "cloud.provider") &&
           strcmp(gstr(o, "evidences.0.api.operation"),
                  gstr(f, "service.action.kubernetesApiCallAction.verb")) == 0 &&
           strcmp(gstr(o, "evidences.0.actor.user.name"),
                  gstr(f, "resource.kubernetesDetails.kubernetesUserDetails.username")) == 0 &&
           gstr(o, "evidences.0.src_endpoint.ip") &&
           strcmp(gstr(o, "unmapped.guardduty.arn"), str(f, "arn")) == 0;
}

static void test_ocsf(void)
{
    int valid = 0, updates = 0;
    cJSON *o;
    for (int i = 0; i < nfindings; i++) {
        o = render_json("ocsf", findings[i]);
        valid += o && ocsf_ok(o, findings[i]);
        updates += o && gnum(o, "type_uid") == 200402;
        cJSON_Delete(o);
    }
    is_int(valid, nfindings, "every OCSF finding has the Detection Finding attributes and enums");
    ok(updates > 0 && updates < nfindings, "updates are activity 2, new findings activity 1 (%d updates)",
       updates);
    o = render_json("ocsf", findings[0]);
    is_str(gstr(o, "severity"), "Medium", "severity caption");
    is_str(gstr(o, "api.request.uid"), gstr(findings[0], "kguard.auditID"), "api.request.uid is the auditID");
    is_int((long long)gnum(o, "api.response.code"), 200, "the response code");
    is_str(gstr(o, "resources.0.uid"), "arn:aws:eks:eu-west-1:111122223333:cluster/demo", "the cluster resource");
    is_str(gstr(o, "resources.1.type"), "namespaces", "the object's resource");
    is_str(gstr(o, "cloud.account.uid"), "111122223333", "cloud.account.uid");
    is_str(gstr(o, "metadata.product.version"), "9.9.9-test", "metadata.product.version");
    ok(get(o, "unmapped.kguard.auditID") && !get(o, "unmapped.kguard.remediation"),
       "kguard's extras under unmapped, the remediation mapped");
    ok(gstr(o, "remediation.desc") != NULL, "remediation.desc");
    cJSON_Delete(o);
}

/* ---- Falco ----------------------------------------------------------------- */

static int falco_keys_ok(const cJSON *o)
{
    static const char *const keys[] = {"hostname", "output", "priority", "rule", "source",
                                       "tags", "time", "output_fields"};
    const cJSON *it;
    int n = 0;
    cJSON_ArrayForEach(it, o) {
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0] && strcmp(keys[i], it->string) != 0; i++)
            ;
        if (i == sizeof keys / sizeof keys[0])
            return 0;
        n++;
    }
    return n == 8 && cJSON_IsArray(get(o, "tags")) && cJSON_IsObject(get(o, "output_fields"));
}

static int falco_fields_ok(const cJSON *of)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, of)
        if (!cJSON_IsString(it) && !cJSON_IsNumber(it) && !cJSON_IsNull(it))
            return 0;
    return 1;
}

static const char *falco_priority(double s)
{
    return s >= 9 ? "Critical" : s >= 7 ? "Error" : s >= 4 ? "Warning" : s >= 1 ? "Notice"
         : "Informational";
}

static void test_falco(void)
{
    int valid = 0;
    cJSON *o, *f;
    char want[64];
    for (int i = 0; i < nfindings; i++) {
        const char *t, *out;
        o = render_json("falco", findings[i]);
        t = str(o, "time");
        out = str(o, "output");
        snprintf(want, sizeof want, "%.8s.%.3s000000: %s ", t ? t + 11 : "", t ? t + 20 : "",
                 falco_priority(gnum(findings[i], "severity")));
        valid += o && falco_keys_ok(o) && falco_fields_ok(get(o, "output_fields")) && t &&
                 strlen(t) == 30 && t[29] == 'Z' && is_rfc3339(t) &&
                 strncmp(t, gstr(findings[i], "service.eventLastSeen"), 23) == 0 &&
                 strcmp(str(o, "priority"), falco_priority(gnum(findings[i], "severity"))) == 0 &&
                 strcmp(str(o, "source"), "k8s_audit") == 0 &&
                 strcmp(str(o, "rule"), str(findings[i], "type")) == 0 &&
                 out && strncmp(out, want, strlen(want)) == 0;
        cJSON_Delete(o);
    }
    is_int(valid, nfindings, "every Falco alert has the eight keys, a known priority, ns time");
    o = render_json("falco", findings[0]);
    is_str(str(o, "hostname"), "kg-test-host", "hostname from the options");
    is_str(gstr(o, "output_fields.ka.user.name"), NULL, "dotted keys are not paths");
    is_str(str(get(o, "output_fields"), "ka.user.name"), "system:anonymous", "ka.user.name");
    is_str(str(get(o, "output_fields"), "ka.verb"), "list", "ka.verb");
    is_str(str(get(o, "output_fields"), "ka.sourceips"), "(203.0.113.77)", "ka.sourceips as Falco prints a list");
    ok(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(get(o, "output_fields"), "ka.target.name")),
       "a field the event lacks is null");
    ok(strstr(str(o, "output"), "user=system:anonymous") != NULL, "output names the user");
    is_str(gstr(o, "tags.2"), "mitre_discovery", "the tactic as Falco's MITRE tag");
    cJSON_Delete(o);

    f = cJSON_Duplicate(findings[0], 1);
    cJSON_ReplaceItemInObject(f, "severity", cJSON_CreateNumber(9.5));
    o = render_json("falco", f);
    is_str(str(o, "priority"), "Critical", "severity 9.5 is Critical");
    cJSON_Delete(o);
    cJSON_ReplaceItemInObject(f, "severity", cJSON_CreateNumber(2));
    o = render_json("falco", f);
    is_str(str(o, "priority"), "Notice", "severity 2 (Low) is Notice");
    cJSON_Delete(o);
    cJSON_Delete(f);
}

/* ---- text and summary -------------------------------------------------------- */

static void test_text(void)
{
    kg_format_opts colour = OPTS;
    cJSON *f = NULL;
    char *s = NULL;
    int update_lines = 0, counted = 0;

    s = render("text", findings[0], &OPTS);
    ok(s && strncmp(s, gstr(findings[0], "service.eventLastSeen"), 24) == 0, "starts with the event time: %s", s);
    ok(s && strstr(s, " MEDIUM Discovery:Kubernetes/SuccessfulAnonymousAccess ") != NULL, "severity word and type");
    ok(s && strstr(s, "user=system:anonymous from=203.0.113.77 list namespaces (cluster-wide)") != NULL,
       "who, from where, what, where");
    ok(s && !strchr(s, '\033'), "no colour unless asked");
    free(s);
    colour.colour = 1;
    s = render("text", findings[0], &colour);
    ok(s && strstr(s, "\033[33mMEDIUM\033[0m") != NULL, "coloured severity when asked");
    free(s);
    for (int i = 0; i < nfindings; i++) {
        char want[32];
        double n = gnum(findings[i], "service.count");
        s = render("text", findings[i], &OPTS);
        snprintf(want, sizeof want, " count=%.0f", n);
        update_lines += n > 1;
        counted += s && (n > 1) == (strstr(s, want) != NULL);
        free(s);
    }
    is_int(counted, nfindings, "count=N on updates only");
    ok(update_lines > 0, "the example has updates (%d)", update_lines);

    f = cJSON_Duplicate(findings[2], 1);
    cJSON_ReplaceItemInObject(get(f, "resource.kubernetesDetails.kubernetesUserDetails"), "username",
                              cJSON_CreateString("evil\033]0;owned\007\033[2J"));
    s = render("text", f, &colour);
    ok(s && strstr(s, "user=evil?]0;owned??[2J") != NULL, "control characters of a username are replaced");
    free(s);
    cJSON_Delete(f);
}

static void test_summary(void)
{
    kg_summary *s = format_summary_new();
    char *t;
    int distinct = 0;
    double events = 0;
    for (int i = 0; i < nfindings; i++) {
        int last = 1, first = 1;
        for (int j = 0; j < nfindings; j++) {
            if (strcmp(str(findings[i], "id"), str(findings[j], "id")) != 0)
                continue;
            last &= j <= i;
            first &= j >= i;
        }
        distinct += first;
        if (last)
            events += gnum(findings[i], "service.count");
        ok(format_summary_add(s, findings[i]) == 0, "add finding %d", i);
    }
    is_int((long long)format_summary_findings(s), distinct, "distinct findings counted once");
    is_int((long long)format_summary_occurrences(s), (long long)events, "occurrences are the latest counts");
    t = format_find("text")->summary(s, &OPTS);
    ok(t && strstr(t, "findings, ") != NULL, "summary header");
    ok(t && strstr(t, "CredentialAccess:Kubernetes/TorIPCaller") != NULL, "the types table");
    ok(t && strstr(t, "top identities") && strstr(t, "system:serviceaccount:kube-system:backup-agent"),
       "top identities");
    ok(t && strstr(t, "top source IPs") && strstr(t, "192.0.2.66"), "top source IPs");
    {
        /* legacy-backup's row against a count made here: distinct ids, latest counts. */
        double want_f = 0, want_e = 0, got_f = -1, got_e = -1;
        const char *row = t ? strstr(t, "\nlegacy-backup ") : NULL;
        for (int i = 0; i < nfindings; i++) {
            int last = 1;
            if (strcmp(gstr(findings[i], "resource.kubernetesDetails.kubernetesUserDetails.username"),
                       "legacy-backup") != 0)
                continue;
            for (int j = i + 1; j < nfindings; j++)
                last &= strcmp(str(findings[i], "id"), str(findings[j], "id")) != 0;
            want_f += last;
            want_e += last ? gnum(findings[i], "service.count") : 0;
        }
        if (row)
            sscanf(row, " legacy-backup %lf %lf", &got_f, &got_e);
        ok(got_f == want_f && got_e == want_e, "an identity's findings and events (%.0f %.0f, want %.0f %.0f)",
           got_f, got_e, want_f, want_e);
    }
    for (const char *p = t; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0'))
        printf("# %.*s\n", (int)strcspn(p, "\n"), p);
    free(t);
    ok(format_summary_add(s, get(findings[0], "service")) == -1, "a non-finding is refused");
    format_summary_free(s);
}

/* ---- bad input ---------------------------------------------------------- */

/* The k-th node (depth first) of root and its parent; k counts down. */
static cJSON *nth_node(cJSON *node, int *k, cJSON **parent)
{
    cJSON *c, *hit;
    cJSON_ArrayForEach(c, node) {
        if ((*k)-- == 0) {
            *parent = node;
            return c;
        }
        if ((hit = nth_node(c, k, parent)) != NULL)
            return hit;
    }
    return NULL;
}

/* Every node of a finding removed, or given the wrong type, in turn: each
 * format renders valid JSON or refuses (NULL); nothing crashes. */
static void test_robust(void)
{
    size_t nf = 0;
    const kg_format *all = format_all(&nf);
    int tried = 0, bad = 0;
    for (int pick = 0; pick < 3; pick++) {
        const cJSON *base = findings[pick == 0 ? 0 : pick == 1 ? 4 : 9];
        for (int k = 0;; k++) {
            for (int mode = 0; mode < 2; mode++) {
                cJSON *f = cJSON_Duplicate(base, 1), *parent = NULL, *node;
                int left = k;
                if (!(node = nth_node(f, &left, &parent))) {
                    cJSON_Delete(f);
                    goto next_base;
                }
                if (mode == 0)
                    cJSON_Delete(cJSON_DetachItemViaPointer(parent, node));
                else
                    cJSON_ReplaceItemViaPointer(parent, node, cJSON_IsNumber(node)
                                                ? cJSON_CreateString("7") : cJSON_CreateNumber(7));
                for (size_t i = 0; i < nf; i++) {
                    char *s = all[i].render(f, &OPTS);
                    cJSON *j = s && strcmp(all[i].name, "text") != 0 ? cJSON_Parse(s) : NULL;
                    bad += s && strcmp(all[i].name, "text") != 0 && !j;
                    tried++;
                    cJSON_Delete(j);
                    free(s);
                }
                cJSON_Delete(f);
            }
        }
next_base:;
    }
    ok(tried > 500, "renderings of damaged findings tried (%d)", tried);
    is_int(bad, 0, "a damaged finding renders as valid JSON or not at all");
}

int main(void)
{
    ok(load_findings() == 0 && nfindings >= 10, "the example gives findings (%d)", nfindings);
    if (nfindings < 3)
        return done_testing();
    test_table();
    test_replay();
    test_asff();
    test_asff_limits();
    test_ocsf();
    test_falco();
    test_text();
    test_summary();
    test_robust();
    for (int i = 0; i < nfindings; i++)
        cJSON_Delete(findings[i]);
    return done_testing();
}
