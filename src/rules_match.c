/*
 * rules_match: the declarative `match` conditions of a rule.  Each key is
 * one entry of MATCH below: how its value is parsed at load time and how an
 * event is tested against it.  A rule keeps only the conditions it names,
 * tested in table order (cheap facts first, the body last).
 */
#include <stdlib.h>
#include <string.h>
#include "kguard/workload.h"
#include "rules_int.h"

/* ---- parsing helpers -------------------------------------------------- */

static int parse_flag(rules_match_ctx *mc, lua_State *L, int t, const char *key,
                      rules_cond *out)
{
    if (lc_bool(mc->lc, L, t, "match.", key, &out->flag) < 0)
        return -1;
    return out->flag >= 0;
}

static int parse_strings(rules_match_ctx *mc, lua_State *L, int t, const char *key,
                         bool (*ok)(const char *), rules_cond *out)
{
    if (lc_string_list(mc->lc, L, t, "match.", key, ok, &out->strs, &out->n) < 0)
        return -1;
    return out->n > 0;
}

static bool path_string(const char *s) { return s[0] == '/'; }

/* A non-resource path: "/a/b", or "/a/" and a final "*": every path below /a. */
static bool api_path(const char *r)
{
    size_t n = strlen(r);
    size_t ok = strspn(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-/");
    if (n >= 2 && strcmp(r + n - 2, "/*") == 0)
        n -= 2;
    return r[0] == '/' && ok >= n && !strstr(r, "//") && (n == 1 || r[n - 1] != '/');
}

/* "verb resource", "verb resource/subresource" or "verb /path". */
static bool api_string(const char *s)
{
    size_t v = strspn(s, "abcdefghijklmnopqrstuvwxyz*");
    const char *r;
    if (v == 0 || s[v] != ' ')
        return false;
    r = s + v + 1;
    if (r[0] == '/')
        return api_path(r);
    return *r && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789.-/") == strlen(r) &&
           r[strlen(r) - 1] != '/' && strchr(r, '/') == strrchr(r, '/');
}

/* The body conditions need the event's body; note its absence. */
static bool have_body(rules_judge_ctx *c)
{
    if (workload_has_body(c->ev))
        return true;
    c->body_missing = true;
    return false;
}

/* ---- api: "verb resource[/sub]" keys, served by the index ------------- */

static bool test_namespaces(rules_judge_ctx *c, const rules_cond *k);

static int parse_api(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    int rc = parse_strings(mc, L, t, "api", api_string, out);
    if (rc > 0) {
        mc->rule->has_api = true;
        mc->api = out->strs;    /* indexed by index_api */
        mc->n_api = out->n;
        out->strs = NULL;
        out->n = 0;
    }
    return rc < 0 ? -1 : 0;
}

/* The rule under each of its api keys; a rule that also names namespaces
 * only under "key\x1fns" for each of them, so that the index, not the
 * condition, keeps it off calls in other namespaces (path keys: never in
 * a namespace, indexed as they are). */
static int index_api(rules_match_ctx *mc)
{
    const rules_cond *ns = NULL;
    int rc = 0;
    for (size_t i = 0; i < mc->rule->n_conds; i++)
        if (mc->rule->conds[i].def->test == test_namespaces)
            ns = &mc->rule->conds[i];
    for (size_t i = 0; rc == 0 && i < mc->n_api; i++) {
        bool path = strchr(mc->api[i], ' ')[1] == '/';
        rc = ns && !path ? rules_index_add_ns(mc->index, mc->api[i], ns->strs, ns->n, mc->id)
                         : rules_index_add(mc->index, mc->api[i], mc->id);
    }
    lc_free_strings(mc->api, mc->n_api);
    mc->api = NULL;
    mc->n_api = 0;
    return rc;
}

/* ---- anonymous, success: facts of the call ---------------------------- */

static int parse_anonymous(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    return parse_flag(mc, L, t, "anonymous", out);
}

static bool test_anonymous(rules_judge_ctx *c, const rules_cond *k)
{
    return c->ev->anonymous == (k->flag == 1);
}

static int parse_success(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    return parse_flag(mc, L, t, "success", out);
}

static bool test_success(rules_judge_ctx *c, const rules_cond *k)
{
    return c->ev->success == (k->flag == 1);
}

/* ---- namespaces, exclude_paths: where the call went ------------------- */

static int parse_namespaces(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    return parse_strings(mc, L, t, "namespaces", NULL, out);
}

static bool test_namespaces(rules_judge_ctx *c, const rules_cond *k)
{
    for (size_t i = 0; c->ev->ns && i < k->n; i++)
        if (strcmp(k->strs[i], c->ev->ns) == 0)
            return true;
    return false;
}

static int parse_exclude_paths(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    return parse_strings(mc, L, t, "exclude_paths", path_string, out);
}

static bool test_exclude_paths(rules_judge_ctx *c, const rules_cond *k)
{
    for (size_t i = 0; i < k->n; i++)
        if (event_path_under(c->ev, k->strs[i]))
            return false;
    return true;
}

/* ---- ip_list: a caller IP on a threat list of that kind ---------------- */

static int parse_ip_list(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    char *kind = NULL;
    if (lc_string(mc->lc, L, t, "match.", "ip_list", false, &kind) < 0)
        return -1;
    if (!kind)
        return 0;
    out->flag = lists_kind_from_name(kind);
    free(kind);
    if (out->flag < 0) {
        lc_error(mc->lc, "ip_list", "match.ip_list must be \"tor\", \"malicious\" or \"custom\"");
        return -1;
    }
    return 1;
}

static bool test_ip_list(rules_judge_ctx *c, const rules_cond *k)
{
    if (!rules_judge_ip_hit(c, k->flag))
        return false;
    c->rule_ip_kind = k->flag;
    return true;
}

/* ---- body, privileged, host_path: what the request body holds ---------- */

static int parse_body(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    int rc = parse_flag(mc, L, t, "body", out);
    return rc < 0 ? -1 : rc && out->flag == 1; /* body = false asks nothing */
}

static bool test_body(rules_judge_ctx *c, const rules_cond *k)
{
    (void)k;
    return have_body(c);
}

static int parse_privileged(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    return parse_flag(mc, L, t, "privileged", out);
}

static bool test_privileged(rules_judge_ctx *c, const rules_cond *k)
{
    if (!have_body(c))
        return false;
    if (c->privileged < 0)
        c->privileged = workload_has_privileged(workload_pod_spec(c->ev));
    return c->privileged == k->flag;
}

static int parse_host_path(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out)
{
    return parse_flag(mc, L, t, "host_path", out);
}

static bool test_host_path(rules_judge_ctx *c, const rules_cond *k)
{
    if (!have_body(c))
        return false;
    if (c->host_path < 0)
        c->host_path = workload_has_host_path(workload_pod_spec(c->ev));
    return c->host_path == k->flag;
}

/* ---- the table -------------------------------------------------------- */

static const rules_match_def MATCH[] = {
    {"api", parse_api, NULL},
    {"anonymous", parse_anonymous, test_anonymous},
    {"success", parse_success, test_success},
    {"namespaces", parse_namespaces, test_namespaces},
    {"exclude_paths", parse_exclude_paths, test_exclude_paths},
    {"ip_list", parse_ip_list, test_ip_list},
    {"body", parse_body, test_body},
    {"privileged", parse_privileged, test_privileged},
    {"host_path", parse_host_path, test_host_path},
};
#define N_MATCH (sizeof MATCH / sizeof MATCH[0])

static int add_cond(kg_rule *r, const rules_cond *k)
{
    rules_cond *nv = realloc(r->conds, (r->n_conds + 1) * sizeof *nv);
    if (!nv)
        return -1;
    r->conds = nv;
    r->conds[r->n_conds++] = *k;
    return 0;
}

/* Parse every entry's key of the match table at t. */
static int compile_entries(rules_match_ctx *mc, lua_State *L, int t)
{
    for (size_t i = 0; i < N_MATCH; i++) {
        rules_cond k = {&MATCH[i], -1, NULL, 0};
        int rc = MATCH[i].parse(mc, L, t, &k);
        if (rc == 1 && MATCH[i].test) {
            if (add_cond(mc->rule, &k) == 0)
                continue;
            lc_error(mc->lc, NULL, "out of memory");
            rc = -1;
        }
        lc_free_strings(k.strs, k.n);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int rules_match_compile(rules_match_ctx *mc, lua_State *L, int t)
{
    const char *keys[N_MATCH + 1];
    int rc = 0;

    if (lua_getfield(L, t, "match") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(mc->lc, "match", "field 'match' must be a table");
        lua_pop(L, 1);
        return -1;
    }
    for (size_t i = 0; i < N_MATCH; i++)
        keys[i] = MATCH[i].key;
    keys[N_MATCH] = NULL;
    t = lua_gettop(L);
    if (lc_check_keys(mc->lc, L, t, keys, "match") || compile_entries(mc, L, t))
        rc = -1;
    if (rc == 0 && index_api(mc) < 0) {
        lc_error(mc->lc, NULL, "out of memory");
        rc = -1;
    }
    lc_free_strings(mc->api, mc->n_api);
    mc->api = NULL;
    mc->n_api = 0;
    lua_pop(L, 1);
    return rc;
}

bool rules_match_hold(rules_judge_ctx *c, const kg_rule *r)
{
    for (size_t i = 0; i < r->n_conds; i++)
        if (!r->conds[i].def->test(c, &r->conds[i]))
            return false;
    return true;
}

void rules_match_free(kg_rule *r)
{
    for (size_t i = 0; i < r->n_conds; i++)
        lc_free_strings(r->conds[i].strs, r->conds[i].n);
    free(r->conds);
    r->conds = NULL;
    r->n_conds = 0;
}
