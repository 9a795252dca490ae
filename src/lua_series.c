/*
 * lua_series: the kguard.window and kguard.baseline bindings and
 * kguard.now (see lua_series.h).
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua_series.h"
#include "lua_table.h"

#define WINDOW_MT "kguard.window"
#define BASELINE_MT "kguard.baseline"
#define MAX_SPAN_MS (366LL * 86400 * 1000)
/* The same ceiling as a state table's entries (state.h), and a bound on the
 * values kept per key: a rule cannot ask a series for unbounded memory. */
#define MAX_KEYS 1000000
#define MAX_VALUES 4096

typedef struct handle {
    kg_series *s;
    kg_state *st;
} handle;

static handle *check(lua_State *L, const char *mt)
{
    return luaL_checkudata(L, 1, mt);
}

/* What every keyed method starts from: s:method(key, ...) on a series of
 * metatable mt, the key scoped to the event's cluster (in buf), the clock. */
typedef struct keyed {
    handle *h;
    const char *k;
    size_t n;
    long long now;
} keyed;

static keyed keyed_call(lua_State *L, const char *mt, char *buf)
{
    keyed c = {check(L, mt), NULL, 0, 0};
    c.k = lua_table_check_key(L, c.h->st, 2, buf, &c.n);
    c.now = state_now(c.h->st);
    return c;
}

static const char *check_value(lua_State *L, int idx, size_t *len)
{
    const char *v;
    luaL_argexpected(L, lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER,
                     idx, "string value");
    v = lua_tolstring(L, idx, len);
    luaL_argcheck(L, *len <= KG_SERIES_MAX_VALUE, idx, "value longer than 1024 bytes");
    return v;
}

static int oom(lua_State *L)
{
    return luaL_error(L, "out of memory in a state series");
}

/* An error for a failed series_add/series_observe. */
static int failed(lua_State *L, int rc)
{
    if (rc == KG_TABLE_REFUSED)
        return luaL_error(L, "the state tables are full (key or value refused; "
                          "config limits.state_total_mib, limits.state_table_mib)");
    return oom(L);
}

/* values(key): a table of value -> time (ms) */
typedef struct push_ud {
    lua_State *L;
    bool first;
} push_ud;

static void push_one(void *ud, const char *v, size_t vlen, long long first, long long last)
{
    push_ud *p = ud;
    lua_pushlstring(p->L, v, vlen);
    lua_pushinteger(p->L, p->first ? first : last);
    lua_rawset(p->L, -3);
}

static int push_values(lua_State *L, const char *mt, bool first)
{
    char buf[KG_STATE_KEYBUF];
    keyed c = keyed_call(L, mt, buf);
    push_ud p = {L, first};
    lua_newtable(L);
    series_values(c.h->s, c.k, c.n, c.now, push_one, &p);
    return 1;
}

/* ---- windows ---------------------------------------------------------- */

/* w:add(key [, value]) -> count, distinct */
static int w_add(lua_State *L)
{
    char buf[KG_STATE_KEYBUF];
    keyed c = keyed_call(L, WINDOW_MT, buf);
    size_t vlen = 0, distinct;
    const char *v = lua_isnoneornil(L, 3) ? NULL : check_value(L, 3, &vlen);
    unsigned long count;
    int rc = series_add(c.h->s, c.k, c.n, v, vlen, c.now, &count, &distinct);
    if (rc < 0)
        return failed(L, rc);
    lua_pushinteger(L, (lua_Integer)count);
    lua_pushinteger(L, (lua_Integer)distinct);
    return 2;
}

static int w_count(lua_State *L)
{
    char buf[KG_STATE_KEYBUF];
    keyed c = keyed_call(L, WINDOW_MT, buf);
    lua_pushinteger(L, (lua_Integer)series_count(c.h->s, c.k, c.n, c.now));
    return 1;
}

static int w_distinct(lua_State *L)
{
    char buf[KG_STATE_KEYBUF];
    keyed c = keyed_call(L, WINDOW_MT, buf);
    lua_pushinteger(L, (lua_Integer)series_distinct(c.h->s, c.k, c.n, c.now));
    return 1;
}

/* w:values(key) -> {value = last seen ms} */
static int w_values(lua_State *L)
{
    return push_values(L, WINDOW_MT, false);
}

/* ---- baselines -------------------------------------------------------- */

static bool learning(handle *h, long long now, long long *started)
{
    *started = series_started(h->s, state_scope(h->st), now);
    return *started < 0 || now - *started < series_opts(h->s)->learn_ms;
}

/* b:observe(key, value) -> new, learning */
static int b_observe(lua_State *L)
{
    char buf[KG_STATE_KEYBUF];
    keyed c = keyed_call(L, BASELINE_MT, buf);
    size_t vlen;
    const char *v = check_value(L, 3, &vlen);
    long long started;
    bool is_learning = learning(c.h, c.now, &started), was_new;
    int rc = started < 0 ? -1 : series_observe(c.h->s, c.k, c.n, v, vlen, c.now, &was_new);
    if (rc < 0)
        return failed(L, rc);
    lua_pushboolean(L, was_new);
    lua_pushboolean(L, is_learning);
    return 2;
}

/* b:seen(key, value) -> boolean, recording nothing */
static int b_seen(lua_State *L)
{
    char buf[KG_STATE_KEYBUF];
    keyed c = keyed_call(L, BASELINE_MT, buf);
    size_t vlen;
    const char *v = check_value(L, 3, &vlen);
    lua_pushboolean(L, series_seen(c.h->s, c.k, c.n, v, vlen));
    return 1;
}

static int b_learning(lua_State *L)
{
    handle *h = check(L, BASELINE_MT);
    long long started;
    lua_pushboolean(L, learning(h, state_now(h->st), &started));
    return 1;
}

/* b:age() -> seconds since learning began in this cluster */
static int b_age(lua_State *L)
{
    handle *h = check(L, BASELINE_MT);
    long long now = state_now(h->st), started;
    learning(h, now, &started);
    if (started < 0)
        return oom(L);
    lua_pushinteger(L, (now - started) / 1000);
    return 1;
}

/* b:values(key) -> {value = first seen ms} */
static int b_values(lua_State *L)
{
    return push_values(L, BASELINE_MT, true);
}

/* ---- opening ---------------------------------------------------------- */

/* A duration: seconds as a number, or a string "90", "30s", "5m", "24h", "7d". */
static long long opt_duration(lua_State *L, int t, const char *key, long long dflt)
{
    long long ms = dflt;
    int ty = lua_getfield(L, t, key);
    if (ty == LUA_TNUMBER) {
        ms = (long long)(lua_tonumber(L, -1) * 1000);
    } else if (ty == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        char *end;
        double v = strtod(s, &end);
        long long unit = !*end ? 1000 : !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000
                       : !strcmp(end, "h") ? 3600000 : !strcmp(end, "d") ? 86400000 : 0;
        if (end == s || !unit)
            luaL_error(L, "%s must be seconds or a duration like \"5m\", \"24h\", \"7d\"", key);
        ms = (long long)(v * (double)unit);
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "%s must be seconds or a duration like \"5m\", \"24h\", \"7d\"", key);
    }
    lua_pop(L, 1);
    if (ms < 0 || ms > MAX_SPAN_MS)
        luaL_error(L, "%s out of range (0 to 366 days)", key);
    return ms;
}

static size_t opt_cap(lua_State *L, int t, const char *key, lua_Integer max)
{
    lua_Integer v;
    lua_getfield(L, t, key);
    v = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    if (v < 0 || v > max)
        luaL_error(L, "%s must be from 0 (the default) to %d", key, (int)max);
    return (size_t)v;
}

static int open_series(lua_State *L, kg_state *st, kg_series_kind kind, const char *mt)
{
    const char *name = luaL_checkstring(L, 1);
    kg_series_opts o = {0, 0, 0, 0};
    handle *ud;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (kind == KG_SERIES_WINDOW) {
        o.span_ms = opt_duration(L, 2, "span", 0);
        luaL_argcheck(L, o.span_ms >= 1000, 2, "span of at least 1 second required");
    } else {
        o.learn_ms = opt_duration(L, 2, "learn", 7LL * 86400 * 1000);
    }
    o.max_keys = opt_cap(L, 2, "max_keys", MAX_KEYS);
    o.max_values = opt_cap(L, 2, "max_values", MAX_VALUES);
    ud = lua_newuserdatauv(L, sizeof *ud, 0);
    if (!(ud->s = state_series(st, name, kind, &o)))
        return luaL_error(L, "cannot open state series '%s': the state tables are full or out "
                          "of memory", name);
    ud->st = st;
    luaL_setmetatable(L, mt);
    return 1;
}

int lua_series_window(lua_State *L, kg_state *st)
{
    return open_series(L, st, KG_SERIES_WINDOW, WINDOW_MT);
}

int lua_series_baseline(lua_State *L, kg_state *st)
{
    return open_series(L, st, KG_SERIES_BASELINE, BASELINE_MT);
}

int lua_series_now(lua_State *L, kg_state *st)
{
    lua_pushinteger(L, state_now(st));
    return 1;
}

static void register_mt(lua_State *L, const char *mt, const luaL_Reg *methods)
{
    if (luaL_newmetatable(L, mt)) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}

void lua_series_register(lua_State *L)
{
    static const luaL_Reg window[] = {
        {"add", w_add}, {"count", w_count}, {"distinct", w_distinct},
        {"values", w_values}, {NULL, NULL}
    };
    static const luaL_Reg baseline[] = {
        {"observe", b_observe}, {"seen", b_seen}, {"learning", b_learning},
        {"age", b_age}, {"values", b_values}, {NULL, NULL}
    };
    register_mt(L, WINDOW_MT, window);
    register_mt(L, BASELINE_MT, baseline);
}
