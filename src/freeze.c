/*
 * freeze: read-only proxies for the tables every rule shares (see
 * freeze.h).
 */
#include <lauxlib.h>
#include "freeze.h"

#define PROXIES_KEY "kguard.freeze.proxies"   /* proxy -> true (weak keys) */
#define CACHE_KEY "kguard.freeze.cache"       /* real -> proxy (ephemeron) */

void freeze_weak_table(lua_State *L, const char *key)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

void freeze_open(lua_State *L)
{
    freeze_weak_table(L, PROXIES_KEY);
    freeze_weak_table(L, CACHE_KEY);
}

int freeze_in_table(lua_State *L, const char *key, int idx)
{
    int is;
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, key);
    lua_pushvalue(L, idx);
    is = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return is;
}

int freeze_is_proxy(lua_State *L, int idx)
{
    return lua_istable(L, idx) && freeze_in_table(L, PROXIES_KEY, idx);
}

/* __newindex: upvalue 1 is the table's name.  Level 1 is the Lua code that
 * assigned, so the message names its file and line. */
static int proxy_write(lua_State *L)
{
    return luaL_error(L, "%s is shared by every rule and read-only (cannot set '%s')",
                      lua_tostring(L, lua_upvalueindex(1)), luaL_tolstring(L, 2, NULL));
}

/* Replace the value on top of the stack by its proxy when it is a table
 * (deep proxies: nested tables are frozen too, named parent.key). */
static void freeze_top(lua_State *L, int name_idx, int key_idx)
{
    if (!lua_istable(L, -1) || freeze_is_proxy(L, -1))
        return;
    if (lua_type(L, key_idx) == LUA_TSTRING)
        lua_pushfstring(L, "%s.%s", lua_tostring(L, name_idx), lua_tostring(L, key_idx));
    else
        lua_pushfstring(L, "%s[...]", lua_tostring(L, name_idx));
    freeze_push(L, -2, lua_tostring(L, -1), 1);
    lua_replace(L, -3);
    lua_pop(L, 1);
}

/* Deep __index: upvalue 1 the real table, 2 the name. */
static int proxy_index(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));
    freeze_top(L, lua_upvalueindex(2), 2);
    return 1;
}

static int proxy_len(lua_State *L)
{
    lua_len(L, lua_upvalueindex(1));
    return 1;
}

/* The pairs iterator: the real table is an upvalue, never the state. */
static int proxy_next(lua_State *L)
{
    lua_settop(L, 2);
    if (!lua_next(L, lua_upvalueindex(1)))
        return 0;
    if (lua_toboolean(L, lua_upvalueindex(3)))
        freeze_top(L, lua_upvalueindex(2), -2);
    return 2;
}

static int proxy_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushcclosure(L, proxy_next, 3);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static void set_closure(lua_State *L, int mt, int real, int name, int deep,
                        lua_CFunction f, const char *field)
{
    lua_pushvalue(L, real);
    lua_pushvalue(L, name);
    lua_pushboolean(L, deep);
    lua_pushcclosure(L, f, 3);
    lua_setfield(L, mt, field);
}

void freeze_push(lua_State *L, int idx, const char *name, int deep)
{
    int real = lua_absindex(L, idx), mt, nm;

    luaL_checkstack(L, 8, "freezing a table");
    lua_getfield(L, LUA_REGISTRYINDEX, CACHE_KEY);
    lua_pushvalue(L, real);
    if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);                              /* cache */
    lua_pushstring(L, name);
    nm = lua_gettop(L);
    lua_newtable(L);                            /* the proxy */
    lua_newtable(L);                            /* its metatable */
    mt = lua_gettop(L);
    if (deep) {
        set_closure(L, mt, real, nm, deep, proxy_index, "__index");
    } else {
        lua_pushvalue(L, real);                 /* plain lookups, no C call */
        lua_setfield(L, mt, "__index");
    }
    lua_pushvalue(L, nm);
    lua_pushcclosure(L, proxy_write, 1);
    lua_setfield(L, mt, "__newindex");
    set_closure(L, mt, real, nm, deep, proxy_len, "__len");
    set_closure(L, mt, real, nm, deep, proxy_pairs, "__pairs");
    /* a callable module (apirule) stays callable: its own __call, so no C
     * frame sits between the caller and it (error levels still point at
     * the rule's line); it receives the proxy as its first argument */
    if (lua_getmetatable(L, real)) {
        lua_getfield(L, -1, "__call");
        lua_setfield(L, mt, "__call");
        lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    lua_setfield(L, mt, "__metatable");
    lua_setmetatable(L, -2);                    /* cache, name, proxy */
    lua_pushvalue(L, real);
    lua_pushvalue(L, -2);
    lua_rawset(L, nm - 1);                      /* cache[real] = proxy */
    lua_getfield(L, LUA_REGISTRYINDEX, PROXIES_KEY);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, nm - 1);                     /* proxy where the cache was */
    lua_pop(L, 1);                              /* name */
}
