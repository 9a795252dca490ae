/*
 * rules: loading, validating, indexing and running one generation of rules
 * (see rules.h).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lauxlib.h>
#include <xxhash.h>
#include "kguard/finding.h"
#include "kguard/rules.h"
#include "hmap.h"
#include "luacheck.h"
#include "lua_event.h"
#include "lua_state.h"
#include "sandbox.h"

/* ---- the verb/resource index ----------------------------------------- */

/* Rule ids under one "verb resource[/subresource]" key, ascending. */
typedef struct id_list {
    size_t *ids;
    size_t n;
} id_list;

static void id_list_free(void *p)
{
    id_list *l = p;
    if (l)
        free(l->ids);
    free(l);
}

static int index_add(hmap *m, const char *key, size_t id)
{
    bool created;
    hmap_entry *e = hmap_insert(m, key, strlen(key), &created);
    id_list *l;
    size_t *nids;
    if (!e)
        return -1;
    if (created && !(e->ptr = calloc(1, sizeof(id_list))))
        return -1;
    l = e->ptr;
    if (l->n && l->ids[l->n - 1] == id)
        return 0; /* listed twice in one rule */
    nids = realloc(l->ids, (l->n + 1) * sizeof *nids);
    if (!nids)
        return -1;
    l->ids = nids;
    l->ids[l->n++] = id;
    return 0;
}

static const id_list *index_get(hmap *m, const char *key, size_t len)
{
    hmap_entry *e = hmap_find(m, key, len);
    return e ? e->ptr : NULL;
}

/* ---- the generation --------------------------------------------------- */

#define IPS_MEMO 4096              /* power of two */

struct ip_memo {
    kg_ip ip;
    short list[KG_LIST_KINDS];
    bool valid;
};

struct kg_ruleset {
    kg_sandbox *sb;
    const kg_lists *lists;
    kg_rule *rules;
    size_t n;
    hmap index;            /* api key -> id_list */
    size_t *always;        /* rules without an api condition */
    size_t n_always;
    size_t *scratch;       /* candidate ids of one event: 2 * n + n_always */
    struct ip_memo *memo;  /* recent callers' list hits (IPS_MEMO slots) */
    unsigned long seq;     /* events judged */
};

size_t ruleset_count(const kg_ruleset *rs) { return rs->n; }
const kg_rule *ruleset_rule(const kg_ruleset *rs, size_t i) { return &rs->rules[i]; }

static void rule_clear(lua_State *L, kg_rule *r)
{
    free(r->type);
    free(r->title);
    free(r->description);
    free(r->remediation);
    free(r->file);
    lc_free_strings(r->namespaces, r->n_namespaces);
    lc_free_strings(r->exclude_paths, r->n_exclude_paths);
    if (L && r->predicate != LUA_NOREF)
        luaL_unref(L, LUA_REGISTRYINDEX, r->predicate);
    memset(r, 0, sizeof *r);
    r->predicate = LUA_NOREF;
}

void ruleset_free(kg_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        rule_clear(NULL, &rs->rules[i]);
    free(rs->rules);
    hmap_free(&rs->index, id_list_free);
    free(rs->always);
    free(rs->scratch);
    free(rs->memo);
    sandbox_free(rs->sb);
    free(rs);
}

/* ---- the kguard table seen by rules ----------------------------------- */

static int l_ip_in(lua_State *L)
{
    const kg_lists *ls = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = luaL_checkstring(L, 1);
    const char *ip = luaL_checkstring(L, 2);
    const kg_list *l = lists_find(ls, name);
    kg_ip key;
    if (!l)
        return luaL_error(L, "no IP list named '%s'", name);
    lua_pushboolean(L, ipset_parse_ip(ip, &key) && ipset_contains(l->set, &key));
    return 1;
}

static int l_log(lua_State *L)
{
    lua_Debug ar;
    const char *msg = luaL_checkstring(L, 1);
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
        fprintf(stderr, "kguard: %s:%d: %s\n", ar.short_src, ar.currentline, msg);
    else
        fprintf(stderr, "kguard: rule: %s\n", msg);
    return 0;
}

static void open_kguard_table(kg_sandbox *sb, const kg_lists *lists, kg_state *state)
{
    lua_State *L = sb->L;
    lua_newtable(L);
    if (state) {
        lua_state_push_opener(L, state);
        lua_setfield(L, -2, "table");
    }
    lua_pushlightuserdata(L, (void *)lists);
    lua_pushcclosure(L, l_ip_in, 1);
    lua_setfield(L, -2, "ip_in");
    lua_pushcfunction(L, l_log);
    lua_setfield(L, -2, "log");
    sandbox_set_global(sb, "kguard");
}

/* ---- validating one rule table ---------------------------------------- */

typedef struct loader {
    const kg_ruleset_opts *opts;
    kg_ruleset *rs;
    lc_ctx lc;             /* the file being loaded */
} loader;

static bool path_string(const char *s) { return s[0] == '/'; }

/* "verb resource" or "verb resource/subresource". */
static bool api_string(const char *s)
{
    size_t v = strspn(s, "abcdefghijklmnopqrstuvwxyz*");
    const char *r;
    if (v == 0 || s[v] != ' ')
        return false;
    r = s + v + 1;
    return *r && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789.-/") == strlen(r) &&
           r[0] != '/' && r[strlen(r) - 1] != '/' && strchr(r, '/') == strrchr(r, '/');
}

static int compile_match(loader *ld, lua_State *L, int t, kg_rule *r, size_t id)
{
    static const char *const keys[] = {"api", "anonymous", "success", "ip_list",
                                       "namespaces", "exclude_paths", "body",
                                       "privileged", "host_path", NULL};
    int body = -1;
    char **api = NULL, *kind = NULL;
    size_t n_api = 0;
    int rc = 0;

    r->anonymous = r->success = r->ip_kind = r->privileged = r->host_path = -1;
    if (lua_getfield(L, t, "match") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(&ld->lc, "match", "field 'match' must be a table");
        lua_pop(L, 1);
        return -1;
    }
    t = lua_gettop(L);
    if (lc_check_keys(&ld->lc, L, t, keys, "match") ||
        lc_bool(&ld->lc, L, t, "match.", "anonymous", &r->anonymous) ||
        lc_bool(&ld->lc, L, t, "match.", "success", &r->success) ||
        lc_bool(&ld->lc, L, t, "match.", "body", &body) ||
        lc_bool(&ld->lc, L, t, "match.", "privileged", &r->privileged) ||
        lc_bool(&ld->lc, L, t, "match.", "host_path", &r->host_path) ||
        lc_string(&ld->lc, L, t, "match.", "ip_list", false, &kind) ||
        lc_string_list(&ld->lc, L, t, "match.", "namespaces", NULL, &r->namespaces, &r->n_namespaces) ||
        lc_string_list(&ld->lc, L, t, "match.", "exclude_paths", path_string,
                       &r->exclude_paths, &r->n_exclude_paths) ||
        lc_string_list(&ld->lc, L, t, "match.", "api", api_string, &api, &n_api))
        rc = -1;
    if (rc == 0 && kind && (r->ip_kind = lists_kind_from_name(kind)) < 0) {
        lc_error(&ld->lc, "ip_list", "match.ip_list must be \"tor\", \"malicious\" or \"custom\"");
        rc = -1;
    }
    r->has_api = n_api > 0;
    r->needs_body = body == 1 || r->privileged >= 0 || r->host_path >= 0;
    for (size_t i = 0; rc == 0 && i < n_api; i++)
        if (index_add(&ld->rs->index, api[i], id) < 0)
            rc = -1;
    lc_free_strings(api, n_api);
    free(kind);
    lua_pop(L, 1);
    return rc;
}

/* The severity at the top of the stack (a name or a number), or -1. */
static double lua_severity(lua_State *L)
{
    if (lua_type(L, -1) == LUA_TSTRING)
        return finding_severity_of(lua_tostring(L, -1));
    return lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
}

static int get_severity(loader *ld, lua_State *L, int t, double *out)
{
    int rc = 0;
    lua_getfield(L, t, "severity");
    *out = lua_severity(L);
    lua_pop(L, 1);
    if (!(*out >= 1 && *out < 10)) {
        lc_error(&ld->lc, "severity", "severity must be \"High\", \"Medium\", \"Low\" or a number from 1 to below 10");
        rc = -1;
    }
    return rc;
}

static bool valid_type(const char *s)
{
    const char *colon = strchr(s, ':'), *slash = strchr(s, '/');
    return colon && slash && colon > s && slash > colon + 1 && slash[1] &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:/._!-") == strlen(s);
}

/* The rule table is at the top of the stack; fill r from it. */
static int compile_rule(loader *ld, lua_State *L, kg_rule *r, size_t id)
{
    static const char *const keys[] = {"type", "severity", "title", "description",
                                       "remediation", "match", "predicate",
                                       "enabled", "details", NULL};
    int t = lua_gettop(L), rc = 0;
    char *details = NULL;

    r->predicate = LUA_NOREF;
    r->enabled = true;
    if (!(r->file = strdup(ld->lc.path)))
        return -1;
    if (lc_check_keys(&ld->lc, L, t, keys, "rule") ||
        lc_string(&ld->lc, L, t, "", "type", true, &r->type) ||
        get_severity(ld, L, t, &r->severity) ||
        lc_string(&ld->lc, L, t, "", "title", true, &r->title) ||
        lc_string(&ld->lc, L, t, "", "description", true, &r->description) ||
        lc_string(&ld->lc, L, t, "", "remediation", true, &r->remediation))
        rc = -1;
    if (rc == 0 && lc_string(&ld->lc, L, t, "", "details", false, &details) < 0) {
        rc = -1;
    } else if (details && strcmp(details, "workload") == 0) {
        r->details = KG_DETAILS_WORKLOAD;
    } else if (details && strcmp(details, "rolebinding") == 0) {
        r->details = KG_DETAILS_ROLEBINDING;
    } else if (details) {
        lc_error(&ld->lc, "details", "details must be \"workload\" or \"rolebinding\"");
        rc = -1;
    }
    free(details);
    if (rc == 0 && !valid_type(r->type)) {
        lc_error(&ld->lc, "type", "type '%s' is not of the form Tactic:Kubernetes/Name", r->type);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < ld->rs->n; i++) {
        if (strcmp(ld->rs->rules[i].type, r->type) == 0) {
            lc_error(&ld->lc, "type", "type %s is already defined by %s", r->type,
                       ld->rs->rules[i].file);
            rc = -1;
        }
    }
    switch (lua_getfield(L, t, "enabled")) {
    case LUA_TNIL: break;
    case LUA_TBOOLEAN: r->enabled = lua_toboolean(L, -1); break;
    default: lc_error(&ld->lc, "enabled", "field 'enabled' must be true or false"); rc = -1;
    }
    lua_pop(L, 1);
    switch (lua_getfield(L, t, "predicate")) {
    case LUA_TNIL: lua_pop(L, 1); break;
    case LUA_TFUNCTION: r->predicate = luaL_ref(L, LUA_REGISTRYINDEX); break;
    default:
        lua_pop(L, 1);
        lc_error(&ld->lc, "predicate", "field 'predicate' must be a function");
        rc = -1;
    }
    if (rc == 0 && compile_match(ld, L, t, r, id) < 0)
        rc = -1;
    return rc;
}

/* Lua cuts long file names in messages to "...<tail>:LINE: ...": put the
 * whole path back so the message names the file exactly. */
static const char *full_source(const char *msg, const char *path, char *out, size_t n)
{
    const char *colon;
    size_t tail, plen = strlen(path);
    if (strncmp(msg, "...", 3) != 0 || !(colon = strchr(msg + 3, ':')))
        return msg;
    tail = (size_t)(colon - (msg + 3));
    if (tail > plen || strncmp(path + plen - tail, msg + 3, tail) != 0)
        return msg;
    snprintf(out, n, "%s%s", path, colon);
    return out;
}

static void load_file(loader *ld, const char *path)
{
    lua_State *L = ld->rs->sb->L;
    char chunk[4200];
    kg_rule r = {0};
    kg_rule *nv;

    ld->lc.path = path;
    snprintf(chunk, sizeof chunk, "@%s", path);
    lua_settop(L, 0);
    if (sandbox_loadfile(ld->rs->sb, path, chunk) != LUA_OK ||
        sandbox_pcall(ld->rs->sb, 0, 1) != LUA_OK) {
        char full[4600];
        ld->lc.errors++;
        ld->opts->error(ld->opts->ud, full_source(lua_tostring(L, -1), path, full, sizeof full));
        goto done;
    }
    if (!lua_istable(L, -1)) {
        lc_error(&ld->lc, NULL, "must return a rule table (got %s)", luaL_typename(L, -1));
        goto done;
    }
    if (compile_rule(ld, L, &r, ld->rs->n) < 0) {
        rule_clear(L, &r);
        goto done;
    }
    nv = realloc(ld->rs->rules, (ld->rs->n + 1) * sizeof *nv);
    if (!nv) {
        lc_error(&ld->lc, NULL, "out of memory");
        rule_clear(L, &r);
        goto done;
    }
    ld->rs->rules = nv;
    if (!r.has_api) {
        size_t *na = realloc(ld->rs->always, (ld->rs->n_always + 1) * sizeof *na);
        if (!na) {
            lc_error(&ld->lc, NULL, "out of memory");
            rule_clear(L, &r);
            goto done;
        }
        ld->rs->always = na;
        ld->rs->always[ld->rs->n_always++] = ld->rs->n;
    }
    ld->rs->rules[ld->rs->n++] = r;
done:
    lua_settop(L, 0);
}

static int is_rule_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".lua") == 0;
}

kg_ruleset *ruleset_load(const kg_ruleset_opts *opts, char *err, size_t errlen)
{
    struct dirent **names = NULL;
    loader ld = {opts, NULL, {NULL, 0, opts->error, opts->ud}};
    int n = -1;

    ld.rs = calloc(1, sizeof *ld.rs);
    if (!ld.rs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ld.rs->lists = opts->lists;
    ld.rs->sb = sandbox_new(opts->lualib_dir, opts->mem_limit, opts->budget, err, errlen);
    if (!ld.rs->sb)
        goto fail;
    sandbox_set_time_limit(ld.rs->sb, opts->time_limit_ms);
    open_kguard_table(ld.rs->sb, opts->lists, opts->state);
    lua_event_open(ld.rs->sb->L);
    n = scandir(opts->rules_dir, &names, is_rule_file, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "cannot read the rules directory %s", opts->rules_dir);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", opts->rules_dir, names[i]->d_name);
        load_file(&ld, path);
    }
    if (ld.lc.errors) {
        snprintf(err, errlen, "cannot load the rules: %d problem%s in %s", ld.lc.errors,
                 ld.lc.errors == 1 ? "" : "s", opts->rules_dir);
        goto fail;
    }
    if (ld.rs->n == 0) {
        snprintf(err, errlen, "no rules in %s", opts->rules_dir);
        goto fail;
    }
    if (!(ld.rs->scratch = malloc((2 * ld.rs->n + 1) * sizeof(size_t))) ||
        !(ld.rs->memo = calloc(IPS_MEMO, sizeof *ld.rs->memo))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    goto done;
fail:
    ruleset_free(ld.rs);
    ld.rs = NULL;
done:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ld.rs;
}

/* ---- judging ---------------------------------------------------------- */

typedef struct judge_ctx {
    kg_ruleset *rs;
    const kg_event *ev;
    const kg_judge_cb *cb;
    bool event_set;                 /* the Lua event points at ev */
    bool body_missing;              /* a rule wanted a body the event lacks */
    signed char privileged, host_path;  /* pod spec facts: -1 not yet computed */
    signed char hit_known[KG_LIST_KINDS];
    const kg_list *hit_list[KG_LIST_KINDS];
    int hit_ip[KG_LIST_KINDS];
} judge_ctx;

/* What the lists say of one address: per kind, the index of the first list
 * of that kind holding it (-1: none, -2: trusted, so none).  Callers repeat
 * (nodes, controllers), so answers are kept in a small direct-mapped memo;
 * a generation has its own, so a reload of the lists starts afresh. */
static const struct ip_memo *ip_lookup(kg_ruleset *rs, const kg_ip *ip)
{
    const kg_lists *ls = rs->lists;
    struct ip_memo *m = &rs->memo[XXH3_64bits(ip->b, sizeof ip->b) & (IPS_MEMO - 1)];
    bool trusted;
    if (m->valid && memcmp(&m->ip, ip, sizeof *ip) == 0)
        return m;
    m->ip = *ip;
    m->valid = true;
    trusted = lists_trusted(ls, ip);
    for (int k = 0; k < KG_LIST_KINDS; k++)
        m->list[k] = trusted ? -2 : -1;
    for (size_t l = 0; !trusted && ls && l < ls->n; l++) {
        int k = (int)ls->v[l].kind;
        if (k < KG_LIST_KINDS && m->list[k] == -1 && ipset_contains(ls->v[l].set, ip))
            m->list[k] = (short)l;
    }
    return m;
}

/* The first caller IP (in sourceIPs order) on a list of that kind; trusted
 * addresses are passed over (trusted wins over every threat list). */
static bool ip_hit(judge_ctx *c, int kind)
{
    if (!c->hit_known[kind]) {
        c->hit_known[kind] = 1;
        c->hit_list[kind] = NULL;
        for (int i = 0; i < c->ev->nips && !c->hit_list[kind]; i++) {
            const struct ip_memo *m = ip_lookup(c->rs, &c->ev->ips[i]);
            if (m->list[kind] >= 0) {
                c->hit_list[kind] = &c->rs->lists->v[m->list[kind]];
                c->hit_ip[kind] = i;
            }
        }
    }
    return c->hit_list[kind] != NULL;
}

static bool in_list(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool conditions_hold(judge_ctx *c, const kg_rule *r)
{
    const kg_event *ev = c->ev;
    if (!r->enabled)
        return false;
    if (r->anonymous >= 0 && ev->anonymous != (r->anonymous == 1))
        return false;
    if (r->success >= 0 && ev->success != (r->success == 1))
        return false;
    if (r->n_namespaces && !in_list(r->namespaces, r->n_namespaces, ev->ns))
        return false;
    for (size_t i = 0; i < r->n_exclude_paths; i++)
        if (event_path_under(ev, r->exclude_paths[i]))
            return false;
    if (r->ip_kind >= 0 && !ip_hit(c, r->ip_kind))
        return false;
    if (r->needs_body && !ev->body) {
        c->body_missing = true;
        return false;
    }
    if (r->privileged >= 0) {
        if (c->privileged < 0)
            c->privileged = workload_has_privileged(ev->pod_spec);
        if (c->privileged != r->privileged)
            return false;
    }
    if (r->host_path >= 0) {
        if (c->host_path < 0)
            c->host_path = workload_has_host_path(ev->pod_spec);
        if (c->host_path != r->host_path)
            return false;
    }
    return true;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read the predicate's override table at the top of the stack. */
static const char *read_overrides(lua_State *L, kg_match *m)
{
    int ty;
    if (lua_getfield(L, -1, "severity") != LUA_TNIL) {
        double s = lua_severity(L);
        if (!(s >= 1 && s < 10))
            return "the predicate returned a bad severity";
        m->severity = s;
    }
    lua_pop(L, 1);
    if ((ty = lua_getfield(L, -1, "title")) == LUA_TSTRING)
        m->title = lua_tostring(L, -1);   /* stays on the stack while fired */
    else if (ty != LUA_TNIL)
        return "the predicate returned a title that is not a string";
    if ((ty = lua_getfield(L, -2, "description")) == LUA_TSTRING)
        m->description = lua_tostring(L, -1);
    else if (ty != LUA_TNIL)
        return "the predicate returned a description that is not a string";
    if ((ty = lua_getfield(L, -3, "detail")) == LUA_TSTRING)
        m->detail = lua_tostring(L, -1);
    else if (ty != LUA_TNIL)
        return "the predicate returned a detail that is not a string";
    return NULL;
}

/* Run r's predicate.  Returns 1 to fire, 0 not to, -1 on a rule error. */
static int run_predicate(judge_ctx *c, kg_rule *r, kg_match *m)
{
    kg_sandbox *sb = c->rs->sb;
    lua_State *L = sb->L;
    double t0 = now_seconds();
    const char *bad = NULL;
    int rc;

    if (!c->event_set) {
        lua_event_set(L, c->ev);
        c->event_set = true;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->predicate);
    lua_event_push(L);
    rc = sandbox_pcall(sb, 1, 1);
    r->seconds += now_seconds() - t0;
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char where[4300], full[4600];
        r->errors++;
        if (!msg)
            msg = "error object is not a string";
        msg = full_source(msg, r->file, full, sizeof full);
        if (strncmp(msg, r->file, strlen(r->file)) != 0) {
            /* no location (e.g. out of memory): name the rule file at least */
            snprintf(where, sizeof where, "%s: %s", r->file, msg);
            msg = where;
        }
        c->cb->rule_error(c->cb->ud, c->ev, r, msg);
        lua_settop(L, 0);
        return -1;
    }
    if (!lua_toboolean(L, -1))
        return 0;
    if (lua_istable(L, -1) && (bad = read_overrides(L, m)) != NULL) {
        char where[4300];
        snprintf(where, sizeof where, "%s: %s", r->file, bad);
        r->errors++;
        c->cb->rule_error(c->cb->ud, c->ev, r, where);
        lua_settop(L, 0);
        return -1;
    }
    return 1;
}

static void judge_rule(judge_ctx *c, size_t id, int *fired)
{
    kg_rule *r = &c->rs->rules[id];
    kg_match m = {r, NULL, -1, r->severity, r->title, r->description, NULL};
    int ok = 1;

    if (r->last_seq == c->rs->seq)
        return; /* reached through two index keys */
    r->last_seq = c->rs->seq;
    if (!conditions_hold(c, r))
        return;
    r->candidates++;
    if (r->predicate != LUA_NOREF)
        ok = run_predicate(c, r, &m);
    if (ok == 1) {
        if (r->ip_kind >= 0) {
            m.list = c->hit_list[r->ip_kind];
            m.ip_index = c->hit_ip[r->ip_kind];
        }
        r->fired++;
        (*fired)++;
        c->cb->fire(c->cb->ud, c->ev, &m);
    }
    lua_settop(c->rs->sb->L, 0);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Candidate rules for the event, in load order: those indexed under the
 * event's "verb resource[/sub]" and "* resource[/sub]", and the unindexed. */
static size_t candidates(kg_ruleset *rs, const kg_event *ev, size_t *out, size_t max)
{
    char key[512];
    const id_list *s[2] = {NULL, NULL};
    size_t n = 0;
    int len;

    if (ev->resource) {
        len = snprintf(key, sizeof key, "%s %s%s%s", ev->verb, ev->resource,
                       ev->subresource ? "/" : "", ev->subresource ? ev->subresource : "");
        if (len > 0 && (size_t)len < sizeof key) {
            s[0] = index_get(&rs->index, key, (size_t)len);
            len = snprintf(key, sizeof key, "* %s%s%s", ev->resource,
                           ev->subresource ? "/" : "", ev->subresource ? ev->subresource : "");
            s[1] = index_get(&rs->index, key, (size_t)len);
        }
    }
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; s[k] && i < s[k]->n && n < max; i++)
            out[n++] = s[k]->ids[i];
    for (size_t i = 0; i < rs->n_always && n < max; i++)
        out[n++] = rs->always[i];
    if ((s[0] && s[1]) || (rs->n_always && (s[0] || s[1])))
        qsort(out, n, sizeof *out, cmp_size);
    return n;
}

int ruleset_judge(kg_ruleset *rs, const kg_event *ev, const kg_judge_cb *cb)
{
    judge_ctx c = {rs, ev, cb, false, false, -1, -1, {0}, {0}, {0}};
    size_t n;
    int fired = 0;

    rs->seq++;
    n = candidates(rs, ev, rs->scratch, 2 * rs->n + 1);
    for (size_t i = 0; i < n; i++)
        judge_rule(&c, rs->scratch[i], &fired);
    if (c.event_set)
        lua_event_set(rs->sb->L, NULL);
    if (c.body_missing && cb->body_missing)
        cb->body_missing(cb->ud, ev);
    return fired;
}
