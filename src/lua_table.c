/*
 * lua_table: the kguard.table binding (see lua_table.h).
 */
#include <string.h>
#include <lauxlib.h>
#include "lua_table.h"

#define TABLE_MT "kguard.table"
#define MAX_KEY KG_STATE_MAX_KEY
#define KEYBUF KG_STATE_KEYBUF

/* A table handle: the table, and the state whose scope keys are kept in. */
typedef struct handle {
    kg_table *t;
    kg_state *st;
} handle;

/* Counts are integers: a whole value within 2^53 is pushed as one. */
static void push_value(lua_State *L, double v)
{
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(lua_Integer)v)
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, v);
}

static handle *check_handle(lua_State *L)
{
    return luaL_checkudata(L, 1, TABLE_MT);
}

const char *lua_table_check_key(lua_State *L, kg_state *st, int idx, char *buf, size_t *len)
{
    const char *k;
    luaL_argexpected(L, lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER,
                     idx, "string key");
    k = lua_tolstring(L, idx, len);
    luaL_argcheck(L, *len <= MAX_KEY, idx, "key longer than 4096 bytes");
    return state_key(st, k, len, buf);
}

/* What every keyed method starts from: t:method(key, ...) with the key
 * scoped to the event's cluster (in buf) and the engine clock. */
typedef struct keyed {
    kg_table *t;
    const char *k;
    size_t n;
    long long now;
} keyed;

static keyed keyed_call(lua_State *L, char *buf)
{
    handle *h = check_handle(L);
    keyed c = {h->t, NULL, 0, state_now(h->st)};
    c.k = lua_table_check_key(L, h->st, 2, buf, &c.n);
    return c;
}

/* rc < 0 from table_add/set/incr: refused at the caps, or out of memory. */
static int failed(lua_State *L, int rc)
{
    if (rc == KG_TABLE_REFUSED)
        return luaL_error(L, "the state tables are full (key refused; config limits.state_total_mib)");
    return luaL_error(L, "out of memory in a state table");
}

static int t_has(lua_State *L)
{
    char buf[KEYBUF];
    keyed c = keyed_call(L, buf);
    lua_pushboolean(L, table_has(c.t, c.k, c.n, c.now));
    return 1;
}

static int t_add(lua_State *L)
{
    char buf[KEYBUF];
    keyed c = keyed_call(L, buf);
    int rc = table_add(c.t, c.k, c.n, c.now);
    if (rc < 0)
        return failed(L, rc);
    lua_pushboolean(L, rc);
    return 1;
}

static int t_get(lua_State *L)
{
    char buf[KEYBUF];
    keyed c = keyed_call(L, buf);
    double v;
    if (table_get(c.t, c.k, c.n, c.now, &v))
        push_value(L, v);
    else
        lua_pushnil(L);
    return 1;
}

static int t_set(lua_State *L)
{
    char buf[KEYBUF];
    keyed c = keyed_call(L, buf);
    int rc = table_set(c.t, c.k, c.n, luaL_checknumber(L, 3), c.now);
    if (rc < 0)
        return failed(L, rc);
    return 0;
}

static int t_incr(lua_State *L)
{
    char buf[KEYBUF];
    keyed c = keyed_call(L, buf);
    double v;
    int rc = table_incr(c.t, c.k, c.n, luaL_optnumber(L, 3, 1), c.now, &v);
    if (rc < 0)
        return failed(L, rc);
    push_value(L, v);
    return 1;
}

static int t_remove(lua_State *L)
{
    char buf[KEYBUF];
    keyed c = keyed_call(L, buf);
    lua_pushboolean(L, table_remove(c.t, c.k, c.n));
    return 1;
}

static int t_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)table_size(check_handle(L)->t));
    return 1;
}

int lua_table_open(lua_State *L, kg_state *st)
{
    const char *name = luaL_checkstring(L, 1);
    lua_Integer max = 0;
    lua_Number ttl = 0;
    kg_table *t;
    handle *ud;

    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "max_entries");
        max = luaL_optinteger(L, -1, 0);
        lua_getfield(L, 2, "ttl");
        ttl = luaL_optnumber(L, -1, 0);
        lua_pop(L, 2);
        luaL_argcheck(L, max >= 0 && max <= 100000000, 2, "max_entries out of range");
        luaL_argcheck(L, ttl >= 0, 2, "ttl must not be negative");
    }
    t = state_table(st, name, (size_t)max, (long long)(ttl * 1000));
    if (!t)
        return luaL_error(L, "cannot open state table '%s': the state tables are full or out of memory", name);
    ud = lua_newuserdatauv(L, sizeof *ud, 0);
    ud->t = t;
    ud->st = st;
    luaL_setmetatable(L, TABLE_MT);
    return 1;
}

void lua_table_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"has", t_has}, {"add", t_add}, {"get", t_get}, {"set", t_set},
        {"incr", t_incr}, {"remove", t_remove}, {"size", t_size}, {NULL, NULL}
    };
    if (luaL_newmetatable(L, TABLE_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}
