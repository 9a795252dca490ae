/*
 * Unit tests for severity (names, parsing, team > global > given), glob
 * (the one glob meaning) and suppress (matching GuardDuty criteria).
 */
#include <cJSON.h>
#include "kguard/severity.h"
#include "kguard/suppress.h"
#include "glob.h"
#include "tap.h"

static void names_and_parsing(void)
{
    ok(severity_of_name("High") == 8 && severity_of_name("Medium") == 5 &&
       severity_of_name("Low") == 2, "the three names");
    ok(severity_of_name("high") < 0 && severity_of_name("7") < 0 && severity_of_name(NULL) < 0,
       "names are case-sensitive and numbers are not names");
    ok(severity_parse("7.5", true) == 7.5, "a number in text when numbers are allowed");
    ok(severity_parse("7.5", false) < 0, "but not otherwise");
    ok(severity_parse("10", true) < 0 && severity_parse("0.5", true) < 0 &&
       severity_parse("5x", true) < 0, "off the scale or not a number");
    ok(severity_checked(1) == 1 && severity_checked(9.9) == 9.9 && severity_checked(10) < 0,
       "the scale is [1, 10)");
}

static void resolution(void)
{
    kg_sev_setting g[] = {{"Discovery:Kubernetes/*", 3, false},
                          {"Discovery:Kubernetes/AnomalousBehavior.SuccessfulAccess", 9, false}};
    kg_sev_setting t[] = {{"Discovery:*", 0, true}, {"Impact:Kubernetes/*", 6, false}};
    kg_sev_table global = {g, 2}, team = {t, 2};
    double sev = 5;
    ok(severity_resolve(NULL, &global, "Discovery:Kubernetes/AnomalousBehavior.SuccessfulAccess", &sev)
       && sev == 9, "an exact global key beats the glob listed before it");
    sev = 5;
    ok(severity_resolve(NULL, &global, "Discovery:Kubernetes/TorIPCaller", &sev) && sev == 3,
       "the glob applies otherwise");
    sev = 5;
    ok(!severity_resolve(&team, &global, "Discovery:Kubernetes/TorIPCaller", &sev),
       "the team's setting wins, and \"off\" switches the type off");
    sev = 5;
    ok(severity_resolve(&team, &global, "Impact:Kubernetes/MaliciousIPCaller", &sev) && sev == 6,
       "a team glob");
    sev = 4.5;
    ok(severity_resolve(&team, &global, "Persistence:Kubernetes/ContainerWithSensitiveMount", &sev)
       && sev == 4.5, "no setting: the predicate's or rule's severity stays");
}

static void globs(void)
{
    ok(glob_match("system:serviceaccount:kube-system:*-controller",
                  "system:serviceaccount:kube-system:job-controller"), "'*' any run");
    ok(glob_match("Discovery:*", "Discovery:Kubernetes/TorIPCaller"), "'*' crosses '/'");
    ok(glob_match("runner-?", "runner-7") && !glob_match("runner-?", "runner-17"),
       "'?' exactly one character");
    ok(glob_match("team-[ab]", "team-a") && !glob_match("team-[ab]", "team-c"), "a set");
    ok(glob_match("a\\*b", "a*b") && !glob_match("a\\*b", "axb"), "'\\' quotes");
    ok(!glob_match("prod", "prod-eu") && !glob_match("Prod*", "prod"),
       "anchored and case-sensitive");
}

static void suppression(void)
{
    char *users[] = {"system:serviceaccount:ci:runner-?"};
    char *ips[] = {"81.2.69.160"};
    kg_criterion c1[] = {{"resource.kubernetesDetails.kubernetesUserDetails.username",
                          KG_MATCHES, users, 1, 0}};
    kg_criterion c2[] = {{"service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4",
                          KG_NOT_EQUALS, ips, 1, 0},
                         {"severity", KG_GREATER_EQ, NULL, 0, 8}};
    kg_filter rules[] = {{"ci", NULL, c1, 1}, {"high-elsewhere", NULL, c2, 2}};
    cJSON *f = cJSON_Parse(
        "{\"severity\":8,\"resource\":{\"kubernetesDetails\":{\"kubernetesUserDetails\":"
        "{\"username\":\"system:serviceaccount:ci:runner-3\"}}},\"service\":{\"action\":"
        "{\"kubernetesApiCallAction\":{\"remoteIpDetails\":{\"ipAddressV4\":\"81.2.69.160\"}}}}}");
    const kg_filter *hit = suppress_match(rules, 2, f);
    ok(hit && hit == &rules[0], "a matches glob on the username");
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "resource"), "kubernetesDetails"),
        "kubernetesUserDetails", cJSON_Parse("{\"username\":\"alice\"}"));
    ok(suppress_match(rules, 2, f) == NULL, "notEquals fails on the listed address");
    cJSON_ReplaceItemInObjectCaseSensitive(f, "severity", cJSON_CreateNumber(5));
    ok(suppress_match(rules, 2, f) == NULL, "every criterion must hold");
    cJSON_Delete(f);
}

int main(void)
{
    names_and_parsing();
    resolution();
    globs();
    suppression();
    return done_testing();
}
