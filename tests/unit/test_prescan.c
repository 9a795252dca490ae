/* Unit tests for prescan: what it vouches for, cJSON and event_extract take
 * the same way; whatever is unusual or malformed it leaves to them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/event.h"
#include "prescan.h"
#include "tap.h"

/* kubectl creating a pod, logged at Request level by an EKS API server:
 * the RequestReceived stage carries the body. */
static const char *const RECEIVED =
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Request\","
    "\"auditID\":\"0b7e1c52-8d43-4b8e-a0f4-2f6c8c1d9e31\",\"stage\":\"RequestReceived\","
    "\"requestURI\":\"/api/v1/namespaces/payments/pods?fieldManager=kubectl-client-side-apply"
    "&fieldValidation=Strict\",\"verb\":\"create\","
    "\"user\":{\"username\":\"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_1a2b/dana\","
    "\"uid\":\"aws-iam-authenticator:111122223333:AROAEXAMPLEID\",\"groups\":[\"dev-team\","
    "\"system:authenticated\"],\"extra\":{\"accessKeyId\":[\"ASIAEXAMPLEKEY\"],"
    "\"arn\":[\"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_1a2b/dana\"],"
    "\"sessionName\":[\"dana\"]}},\"sourceIPs\":[\"198.51.100.23\"],"
    "\"userAgent\":\"kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819\","
    "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"payments\",\"name\":\"debug-shell\","
    "\"apiVersion\":\"v1\"},"
    "\"requestObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"debug-shell\","
    "\"namespace\":\"payments\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
    "\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Pod\\\",\\\"note\\\":\\\"a \\u003c b \\ud83d\\ude00\\\"}\\n\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"shell\",\"image\":\"busybox:1.36\",\"command\":[\"sleep\","
    "\"3600\"],\"resources\":{\"limits\":{\"cpu\":0.5,\"memory\":\"64Mi\"}},\"securityContext\":"
    "{\"privileged\":true,\"runAsUser\":0}}],\"hostPID\":true,\"terminationGracePeriodSeconds\":30,"
    "\"tolerations\":[],\"priority\":-1.5e-3,\"enableServiceLinks\":false,\"nodeName\":null}},"
    "\"requestReceivedTimestamp\":\"2024-05-02T09:14:03.201644Z\","
    "\"stageTimestamp\":\"2024-05-02T09:14:03.201644Z\"}";

/* RECEIVED with the first occurrence of from replaced by to. */
static char *edit(const char *from, const char *to)
{
    const char *at = strstr(RECEIVED, from);
    size_t n = strlen(RECEIVED) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    if (!at || !s) {
        free(s);
        return NULL;
    }
    snprintf(s, n, "%.*s%s%s", (int)(at - RECEIVED), RECEIVED, to, at + strlen(from));
    return s;
}

/* What the full path says: 1 when cJSON parses the text and event_extract
 * takes it, with its stage and auditID. */
static int full_path(const char *text, size_t len, const char **stage, const char **aid,
                     cJSON **root)
{
    const char *end = NULL;
    kg_event ev;
    char err[256];
    *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!*root)
        return 0;
    while (end < text + len && strchr(" \t\r\n", *end))
        end++;
    ev.src_file = "test";
    ev.src_line = 1;
    if (end != text + len || event_extract(&ev, *root, err, sizeof err) < 0)
        return 0;
    *stage = ev.stage;
    *aid = ev.audit_id;
    return 1;
}

static bool span_is(const char *p, size_t n, const char *want)
{
    return want ? p && strlen(want) == n && memcmp(p, want, n) == 0 : p == NULL;
}

/* prescan vouches only for what the full path accepts, the same way. */
static bool agrees(const char *text, size_t len)
{
    kg_input_peek pk;
    const char *stage = NULL, *aid = NULL;
    cJSON *root = NULL;
    bool good = true;
    if (prescan_event(text, len, &pk) == 1)
        good = full_path(text, len, &stage, &aid, &root) &&
               span_is(pk.stage, pk.stage_len, stage) &&
               span_is(pk.audit_id, pk.audit_id_len, aid);
    cJSON_Delete(root);
    return good;
}

/* prescan_bodies vouches only for a text cJSON accepts whole, and each span
 * parses to the member the whole tree holds (the first of its name). */
/* Whether two trees are the same JSON, member order and duplicate keys
 * included (cJSON_Compare looks members up by name: with a key repeated in
 * one object it calls equal trees different). */
static bool same_json(const cJSON *a, const cJSON *b)
{
    char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
    bool same = x && y && strcmp(x, y) == 0;
    cJSON_free(x);
    cJSON_free(y);
    return same;
}

static bool bodies_agree(const char *text, size_t len, bool *vouched)
{
    static const char *const names[KG_BODY_N] = {"requestObject", "responseObject"};
    kg_json_span b[KG_BODY_N];
    cJSON *root;
    bool good = true;
    *vouched = prescan_bodies(text, len, b) == 1;
    if (!*vouched)
        return true;
    if (!(root = cJSON_ParseWithLengthOpts(text, len, NULL, 0)))
        return false;
    for (int i = 0; i < KG_BODY_N; i++) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        cJSON *got = b[i].text ? cJSON_ParseWithLengthOpts(b[i].text, b[i].len, NULL, 0) : NULL;
        if (cJSON_IsNull(want))
            want = NULL;
        if ((!got) != (!want) || (got && !same_json(got, want)))
            good = false;
        cJSON_Delete(got);
    }
    cJSON_Delete(root);
    return good;
}

static void test_bodies(void)
{
    kg_json_span b[KG_BODY_N];
    char *s;
    ok(prescan_bodies(RECEIVED, strlen(RECEIVED), b) == 1 && b[KG_BODY_REQUEST].text &&
       b[KG_BODY_REQUEST].text[0] == '{' && b[KG_BODY_REQUEST].text[b[KG_BODY_REQUEST].len - 1] == '}' &&
       !b[KG_BODY_RESPONSE].text, "bodies: the requestObject's span, no responseObject");
    s = edit("\"requestReceivedTimestamp\"", "\"responseObject\":[1,{}],\"requestReceivedTimestamp\"");
    ok(s && prescan_bodies(s, strlen(s), b) == 1 && b[KG_BODY_RESPONSE].len == 6 &&
       memcmp(b[KG_BODY_RESPONSE].text, "[1,{}]", 6) == 0, "bodies: a responseObject array");
    free(s);
    s = edit("\"requestReceivedTimestamp\"", "\"requestObject\":{},\"requestReceivedTimestamp\"");
    ok(s && prescan_bodies(s, strlen(s), b) == 0, "bodies: a repeated requestObject: parse it whole");
    free(s);
    s = edit("\"requestObject\"", "\"request\\u004fbject\"");
    ok(s && prescan_bodies(s, strlen(s), b) == 0, "bodies: an escaped key: parse it whole");
    free(s);
    s = edit("\"kind\":\"Event\"", "\"kind\":\"EventList\"");
    ok(s && prescan_bodies(s, strlen(s), b) == 0, "bodies: not an Event: parse it whole");
    free(s);
    s = edit("\"hostPID\":true", "\"hostPID\":tru");
    ok(s && prescan_bodies(s, strlen(s), b) == 0, "bodies: malformed inside the body: parse it whole");
    free(s);
    s = edit("\"requestObject\":{", "\"requestObject\":null,\"x\":{");
    ok(s && prescan_bodies(s, strlen(s), b) == 0, "bodies: only a null body: nothing to defer");
    free(s);
}

static void test_vouches(void)
{
    kg_input_peek pk;
    size_t n = strlen(RECEIVED);
    char *s;
    ok(prescan_event(RECEIVED, n, &pk) == 1, "a RequestReceived event with a body");
    ok(span_is(pk.stage, pk.stage_len, "RequestReceived"), "its stage");
    ok(span_is(pk.audit_id, pk.audit_id_len, "0b7e1c52-8d43-4b8e-a0f4-2f6c8c1d9e31"), "its auditID");
    ok(agrees(RECEIVED, n), "cJSON and event_extract read the same");
    ok(prescan_stage(RECEIVED, n, &pk) == 1 && span_is(pk.stage, pk.stage_len, "RequestReceived"),
       "prescan_stage: the stage from the leading members");
    ok(prescan_stage(RECEIVED, 160, &pk) == 1, "prescan_stage reads no further than it needs");
    ok(prescan_event(RECEIVED, 160, &pk) == 0, "prescan_event wants the whole object");
    s = edit("{\"kind\":\"Event\"", "{\"kind\":\"EventList\",\"items\":[{\"kind\":\"Event\"");
    ok(prescan_stage(s, strlen(s), &pk) == 0, "prescan_stage: an EventList is not an Event");
    free(s);

    s = edit("\"stage\":\"RequestReceived\",", "");
    ok(prescan_event(s, strlen(s), &pk) == 1 && !pk.stage, "no stage: NULL");
    free(s);
    s = edit("\"auditID\":\"0b7e1c52-8d43-4b8e-a0f4-2f6c8c1d9e31\"", "\"auditID\":null");
    ok(prescan_event(s, strlen(s), &pk) == 1 && !pk.audit_id, "a null auditID: NULL");
    free(s);
    s = edit("\"stage\":\"RequestReceived\",", "\"stage\":\"RequestReceived\",\"stage\":7,");
    ok(prescan_event(s, strlen(s), &pk) == 1 && agrees(s, strlen(s)),
       "a repeated key: the first counts, as in event.c");
    free(s);
    s = edit("{\"kind\"", " \t{ \"kind\" ");
    ok(prescan_event(s, strlen(s), &pk) == 1 && agrees(s, strlen(s)), "white space");
    free(s);
}

/* Each replacement makes the line something prescan must leave to the
 * full path: malformed (the full path reports it), or unusual. */
static void test_declines(void)
{
    static const char *const cases[][3] = {
        {"\"verb\":\"create\"", "\"verb\":5", "verb not a string"},
        {"\"verb\":\"create\",", "", "no verb"},
        {"\"kind\":\"Event\"", "\"kind\":\"EventList\"", "another kind"},
        {"\"kind\":\"Event\",", "", "no kind (an envelope's shape)"},
        {"\"kind\":\"Event\"", "\"kind\":\"Ev\\u0065nt\"", "an escape in kind"},
        {"\"stage\":", "\"st\\u0061ge\":", "an escape in a key"},
        {"\"stage\":\"RequestReceived\"", "\"stage\":\"Request\\u0052eceived\"",
         "an escape in the stage"},
        {"\"stage\":\"RequestReceived\"", "\"stage\":[]", "stage not a string"},
        {"\"groups\":[\"dev-team\"", "\"groups\":[17", "a group not a string"},
        {"\"sourceIPs\":[\"198.51.100.23\"]", "\"sourceIPs\":[\"198.51.100.23\",{}]",
         "a source IP not a string"},
        {"\"sourceIPs\":[\"198.51.100.23\"]", "\"sourceIPs\":\"198.51.100.23\"",
         "sourceIPs not an array"},
        {"\"namespace\":\"payments\",\"name\"", "\"namespace\":false,\"name\"",
         "objectRef.namespace not a string"},
        {"\"objectRef\":{", "\"responseStatus\":{\"code\":1000},\"objectRef\":{",
         "a status code above 999"},
        {"\"objectRef\":{", "\"responseStatus\":{\"code\":200.5},\"objectRef\":{",
         "a fractional status code"},
        {"\"objectRef\":{", "\"responseStatus\":{\"code\":\"200\"},\"objectRef\":{",
         "a status code as a string"},
        {"\"objectRef\":{", "\"annotations\":{\"authorization.k8s.io/decision\":1},\"objectRef\":{",
         "a decision not a string"},
        {"\"cpu\":0.5", "\"cpu\":01", "a number with a leading zero"},
        {"\"cpu\":0.5", "\"cpu\":.5", "a number without its integer part"},
        {"\"cpu\":0.5", "\"cpu\":5.", "a number without its fraction"},
        {"\"cpu\":0.5", "\"cpu\":1e", "an exponent without digits"},
        {"\"cpu\":0.5", "\"cpu\":123456789012345678901234567890123456789012345",
         "a number longer than cJSON reads"},
        {"\"cpu\":0.5", "\"cpu\":tru", "a broken literal"},
        {"\\ud83d\\ude00", "\\ude00", "a lone low surrogate"},
        {"\\ud83d\\ude00", "\\ud83d!", "a high surrogate alone"},
        {"\\u003c", "\\u00g3", "a bad \\u escape"},
        {"\\u003c", "\\x3c", "an unknown escape"},
        {"\"tolerations\":[]", "\"tolerations\":[1,]", "a trailing comma"},
        {"\"command\":[\"sleep\",", "\"command\":[\"sleep\" ", "a missing comma"},
        {"\"nodeName\":null}}", "\"nodeName\":null}}}", "an extra brace"},
        {"{\"kind\"", "\xef\xbb\xbf{\"kind\"", "a byte order mark"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kg_input_peek pk;
        char *s = edit(cases[i][0], cases[i][1]);
        ok(s && prescan_event(s, strlen(s), &pk) == 0, "declines: %s", cases[i][2]);
        free(s);
    }
}

static void test_depth_and_tail(void)
{
    kg_input_peek pk;
    char deep[400], *s;
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    s = edit("[]", deep);
    ok(prescan_event(s, strlen(s), &pk) == 0, "declines nesting deeper than 64");
    free(s);
    s = edit("\"tolerations\":[]", "\"tolerations\":[[[[[[[[[[]]]]]]]]]]");
    ok(prescan_event(s, strlen(s), &pk) == 1 && agrees(s, strlen(s)), "takes moderate nesting");
    free(s);
    n = strlen(RECEIVED);
    s = malloc(n + 3);
    memcpy(s, RECEIVED, n);
    memcpy(s + n, " x", 3);
    ok(prescan_event(s, n + 2, &pk) == 0, "declines text after the object");
    memcpy(s + n, " \r", 3);
    ok(prescan_event(s, n + 2, &pk) == 1, "takes white space after it");
    free(s);
}

/* Random edits of the line (printable ASCII, as input.c lets through):
 * whatever prescan vouches for, the full path must accept and read the
 * same way. */
static void test_random_edits(void)
{
    static const char alphabet[] = "{}[]\":,\\ u0123456789abcdefEe.-+tnl";
    size_t n = strlen(RECEIVED), bad = 0, vouched = 0, bodies_bad = 0, bodies_vouched = 0;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char *s = malloc(n + 1);
    for (int round = 0; round < 20000; round++) {
        int edits = 1 + round % 3;
        memcpy(s, RECEIVED, n + 1);
        for (int k = 0; k < edits; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            s[x % n] = alphabet[(x >> 32) % (sizeof alphabet - 1)];
        }
        if (strstr(s, "\\u0000"))
            continue;
        kg_input_peek pk;
        vouched += prescan_event(s, n, &pk) == 1;
        if (!agrees(s, n) && bad++ < 3)
            printf("# disagrees: %s\n", s);
        bool bv;
        if (!bodies_agree(s, n, &bv) && bodies_bad++ < 3)
            printf("# bodies disagree: %s\n", s);
        bodies_vouched += bv;
    }
    free(s);
    ok(bad == 0, "20000 random edits: the full path accepts all prescan vouches for");
    ok(vouched > 1000, "and prescan vouches for many of them (%zu)", vouched);
    ok(bodies_bad == 0, "20000 random edits: cJSON takes whatever prescan_bodies vouches for, "
       "and each span parses to the tree's member");
    ok(bodies_vouched > 1000, "and prescan_bodies vouches for many of them (%zu)", bodies_vouched);
}

int main(void)
{
    test_vouches();
    test_declines();
    test_depth_and_tail();
    test_bodies();
    test_random_edits();
    return done_testing();
}
