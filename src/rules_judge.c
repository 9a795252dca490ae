/*
 * rules_judge: judging one event with a generation (ruleset_judge): the
 * candidates from the index, their match conditions, the threat-list
 * lookups of the caller IPs (with the generation's IP memo) and the Lua
 * predicates with their overrides.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <lauxlib.h>
#include <xxhash.h>
#include "lua_event.h"
#include "lua_guard.h"
#include "lua_tojson.h"
#include "rules_int.h"

/* ---- list lookups ----------------------------------------------------- */

/* What the lists say of one address: per kind, the index of the first list
 * of that kind holding it (-1: none, -2: trusted, so none).  Callers repeat
 * (nodes, controllers), so answers are kept in a small direct-mapped memo;
 * a generation has its own, so a reload of the lists starts afresh. */
static const rules_ip_memo *ip_lookup(kg_ruleset *rs, const kg_ip *ip)
{
    const kg_lists *ls = rs->lists;
    rules_ip_memo *m = &rs->memo[XXH3_64bits(ip->b, sizeof ip->b) & (RULES_IP_MEMO - 1)];
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
bool rules_judge_ip_hit(rules_judge_ctx *c, int kind)
{
    if (!c->hit_known[kind]) {
        c->hit_known[kind] = 1;
        c->hit_list[kind] = NULL;
        for (int i = 0; i < c->ev->nips && !c->hit_list[kind]; i++) {
            const rules_ip_memo *m = ip_lookup(c->rs, &c->ev->ips[i]);
            if (m->list[kind] >= 0) {
                c->hit_list[kind] = &c->rs->lists->v[m->list[kind]];
                c->hit_ip[kind] = i;
            }
        }
    }
    return c->hit_list[kind] != NULL;
}

/* ---- predicates ------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const OVERRIDES[] = {"severity", "title", "description", "detail",
                                        "detection"};
#define N_OVERRIDES 5

/* Push the override fields of the table at index 2 (in protected mode:
 * the table's metatable may run Lua code). */
static int get_overrides(lua_State *L)
{
    for (int i = 0; i < N_OVERRIDES; i++)
        lua_getfield(L, 2, OVERRIDES[i]);
    return N_OVERRIDES;
}

/* Read the predicate's override table at the top of the stack.  A table
 * with a metatable is read through a protected call; its fields then stay
 * on the stack while fired, like the table's. */
static const char *read_overrides(kg_sandbox *sb, kg_match *m)
{
    lua_State *L = sb->L;
    static const char *const not_string[] = {
        NULL, "the predicate returned a title that is not a string",
        "the predicate returned a description that is not a string",
        "the predicate returned a detail that is not a string"};
    int base = lua_gettop(L) + 1;
    if (lguard_has_meta(L, -1)) {
        if (lguard_call(sb, get_overrides, NULL, -1, N_OVERRIDES) != LUA_OK)
            return lua_tostring(L, -1);
    } else {
        for (int i = 0; i < N_OVERRIDES; i++)
            lua_getfield(L, base - 1, OVERRIDES[i]);   /* no metatable: raw */
    }
    if (lua_type(L, base) != LUA_TNIL) {
        double s;
        lua_pushvalue(L, base);
        s = rules_lua_severity(L);
        lua_pop(L, 1);
        if (!(s >= 1 && s < 10))
            return "the predicate returned a bad severity";
        m->severity = s;
    }
    for (int i = 1; i < N_OVERRIDES; i++) {
        int ty = lua_type(L, base + i);
        const char *v = ty == LUA_TSTRING ? lua_tostring(L, base + i) : NULL;
        if (i == 4) {          /* detection: a plain table, copied raw */
            const char *why = NULL;
            if (ty == LUA_TTABLE && !(m->detection = lua_tojson(L, base + i, &why)))
                return why;
            if (ty != LUA_TNIL && ty != LUA_TTABLE)
                return "the predicate returned a detection that is not a table";
            continue;
        }
        if (ty != LUA_TNIL && ty != LUA_TSTRING)
            return not_string[i];
        if (i == 1 && v)
            m->title = v;               /* stays on the stack while fired */
        else if (i == 2 && v)
            m->description = v;
        else if (i == 3 && v)
            m->detail = v;
    }
    return NULL;
}

/* Report a rule error for the event, naming the rule file. */
static int rule_error(rules_judge_ctx *c, kg_rule *r, const char *msg)
{
    char where[4300], full[4600];
    msg = rules_full_source(msg, r->file, full, sizeof full);
    if (strncmp(msg, r->file, strlen(r->file)) != 0) {
        /* no location (e.g. out of memory): name the rule file at least */
        snprintf(where, sizeof where, "%s: %s", r->file, msg);
        msg = where;
    }
    r->errors++;
    if (c->rs->max_failures && ++r->failing >= c->rs->max_failures)
        r->tripped = true;   /* the circuit breaker: off until a reload */
    c->cb->rule_error(c->cb->ud, c->ev, r, msg);
    lua_settop(c->rs->sb->L, 0);
    return -1;
}

/* Run r's predicate.  Returns 1 to fire, 0 not to, -1 on a rule error. */
static int run_predicate(rules_judge_ctx *c, kg_rule *r, kg_match *m)
{
    kg_sandbox *sb = c->rs->sb;
    lua_State *L = sb->L;
    double t0 = now_seconds();
    const char *bad = NULL;
    int rc, fire;

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
        return rule_error(c, r, msg ? msg : "error object is not a string");
    }
    fire = lua_toboolean(L, -1);
    if (fire && lua_istable(L, -1) && (bad = read_overrides(sb, m)) != NULL)
        return rule_error(c, r, bad);
    r->failing = 0;          /* a call that worked closes the breaker's count */
    return fire;
}

/* ---- judging ---------------------------------------------------------- */

static void judge_rule(rules_judge_ctx *c, size_t id, int *fired)
{
    kg_rule *r = &c->rs->rules[id];
    kg_match m = {r, NULL, -1, r->severity, r->title, r->description, NULL, NULL};
    int ok = 1;

    if (r->last_seq == c->rs->seq)
        return; /* reached through two index keys */
    r->last_seq = c->rs->seq;
    c->rule_ip_kind = -1;
    if (!r->enabled || r->tripped || !rules_match_hold(c, r))
        return;
    r->candidates++;
    if (r->predicate != LUA_NOREF)
        ok = run_predicate(c, r, &m);
    if (ok == 1) {
        if (c->rule_ip_kind >= 0) {
            m.list = c->hit_list[c->rule_ip_kind];
            m.ip_index = c->hit_ip[c->rule_ip_kind];
        }
        r->fired++;
        (*fired)++;
        c->cb->fire(c->cb->ud, c->ev, &m);
    }
    cJSON_Delete(m.detection);
    lua_settop(c->rs->sb->L, 0);
}

int ruleset_judge(kg_ruleset *rs, const kg_event *ev, const kg_judge_cb *cb)
{
    rules_judge_ctx c = {rs, ev, cb, false, false, -1, -1, -1, {0}, {0}, {0}};
    size_t n;
    int fired = 0;

    rs->seq++;
    n = rules_index_candidates(rs, ev, rs->scratch, 2 * rs->n + 1);
    for (size_t i = 0; i < n; i++)
        judge_rule(&c, rs->scratch[i], &fired);
    if (c.event_set)
        lua_event_set(rs->sb->L, NULL);
    if (c.body_missing && cb->body_missing)
        cb->body_missing(cb->ud, ev);
    return fired;
}
