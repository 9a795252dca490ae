/*
 * rules_load: ruleset_load and ruleset_free: a fresh sandbox with the
 * kguard module, every Lua file of the rules directory run in it, each
 * returned rule table validated strictly and compiled (its match through
 * rules_match.c), and the generation's scratch space.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "kguard/severity.h"
#include "lua_event.h"
#include "lua_guard.h"
#include "lua_kguard.h"
#include "rules_int.h"

/* ---- the generation --------------------------------------------------- */

size_t ruleset_count(const kg_ruleset *rs) { return rs->n; }
const kg_rule *ruleset_rule(const kg_ruleset *rs, size_t i) { return &rs->rules[i]; }

static void rule_clear(lua_State *L, kg_rule *r)
{
    free(r->type);
    free(r->title);
    free(r->description);
    free(r->remediation);
    free(r->file);
    rules_match_free(r);
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
    rules_index_free(&rs->index);
    free(rs->always);
    free(rs->scratch);
    free(rs->memo);
    sandbox_free(rs->sb);
    free(rs);
}

/* ---- validating one rule table ---------------------------------------- */

typedef struct loader {
    const kg_ruleset_opts *opts;
    kg_ruleset *rs;
    lc_ctx lc;             /* the file being loaded */
} loader;

double rules_lua_severity(lua_State *L)
{
    if (lua_type(L, -1) == LUA_TSTRING)
        return severity_of_name(lua_tostring(L, -1));
    return lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
}

static int get_severity(loader *ld, lua_State *L, int t, double *out)
{
    int rc = 0;
    lua_getfield(L, t, "severity");
    *out = rules_lua_severity(L);
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
    if (rc == 0) {
        rules_match_ctx mc = {&ld->lc, r, &ld->rs->index, id, NULL, 0};
        if (rules_match_compile(&mc, L, t) < 0)
            rc = -1;
    }
    return rc;
}

/* compile_rule inside a protected call: the rule table is Lua's, and a
 * metatable on it (or on its match table) could raise or loop. */
typedef struct compile_job {
    loader *ld;
    kg_rule *r;
    size_t id;
    int rc;
} compile_job;

static int compile_protected(lua_State *L)
{
    compile_job *j = lua_touserdata(L, 1);
    j->rc = compile_rule(j->ld, L, j->r, j->id);
    return 0;
}

static int compile_guarded(loader *ld, lua_State *L, kg_rule *r)
{
    compile_job j = {ld, r, ld->rs->n, -1};
    if (lguard_call(ld->rs->sb, compile_protected, &j, -1, 0) != LUA_OK) {
        char full[4600];
        const char *msg = rules_full_source(lua_tostring(L, -1), ld->lc.path, full, sizeof full);
        if (strncmp(msg, ld->lc.path, strlen(ld->lc.path)) == 0) {
            ld->lc.errors++;
            ld->opts->error(ld->opts->ud, msg);
        } else {
            lc_error(&ld->lc, NULL, "reading the rule table failed: %s", msg);
        }
        return -1;
    }
    return j.rc;
}

/* Lua cuts long file names in messages to "...<tail>:LINE: ...": put the
 * whole path back so the message names the file exactly. */
const char *rules_full_source(const char *msg, const char *path, char *out, size_t n)
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
        ld->opts->error(ld->opts->ud, rules_full_source(lua_tostring(L, -1), path, full, sizeof full));
        goto done;
    }
    if (!lua_istable(L, -1)) {
        lc_error(&ld->lc, NULL, "must return a rule table (got %s)", luaL_typename(L, -1));
        goto done;
    }
    if (compile_guarded(ld, L, &r) < 0) {
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
    ld.rs->max_failures = opts->max_failures;
    ld.rs->sb = sandbox_new(opts->lualib_dir, opts->mem_limit, opts->budget, err, errlen);
    if (!ld.rs->sb)
        goto fail;
    sandbox_set_time_limit(ld.rs->sb, opts->time_limit_ms);
    lua_kguard_open(ld.rs->sb, opts->lists, opts->state);
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
        !(ld.rs->memo = calloc(RULES_IP_MEMO, sizeof *ld.rs->memo))) {
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
