/*
 * lua_kguard: the `kguard` module (see lua_kguard.h), built from a luaL_Reg
 * table like Lua's own libraries.  Every function shares one upvalue, the
 * module's environment (the lists and the state it answers from).
 */
#include <stdio.h>
#include <lauxlib.h>
#include "lua_kguard.h"
#include "lua_series.h"
#include "lua_table.h"

typedef struct kguard_env {
    const kg_lists *lists;
    kg_state *state;
} kguard_env;

static kguard_env *env_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* kguard.ip_in(list_name, ip) */
static int l_ip_in(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *ip = luaL_checkstring(L, 2);
    const kg_list *l = lists_find(env_of(L)->lists, name);
    kg_ip key;
    if (!l)
        return luaL_error(L, "no IP list named '%s'", name);
    lua_pushboolean(L, ipset_parse_ip(ip, &key) && ipset_contains(l->set, &key));
    return 1;
}

/* kguard.log(message): to stderr, with the caller's file:line. */
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

/* kguard.table(name [, opts]) */
static int l_table(lua_State *L)
{
    return lua_table_open(L, env_of(L)->state);
}

/* kguard.window(name, opts), kguard.baseline(name, opts), kguard.now() */
static int l_window(lua_State *L)
{
    return lua_series_window(L, env_of(L)->state);
}

static int l_baseline(lua_State *L)
{
    return lua_series_baseline(L, env_of(L)->state);
}

static int l_now(lua_State *L)
{
    return lua_series_now(L, env_of(L)->state);
}

static const luaL_Reg kguard_lib[] = {
    {"ip_in", l_ip_in},
    {"log", l_log},
    {"table", l_table},
    {"window", l_window},
    {"baseline", l_baseline},
    {"now", l_now},
    {NULL, NULL}
};

/* What needs the state (absent without one, as in kguard check). */
static const char *const stateful[] = {"table", "window", "baseline", "now"};

void lua_kguard_open(kg_sandbox *sb, const kg_lists *lists, kg_state *state)
{
    lua_State *L = sb->L;
    kguard_env *env;

    luaL_newlibtable(L, kguard_lib);
    env = lua_newuserdatauv(L, sizeof *env, 0);
    env->lists = lists;
    env->state = state;
    luaL_setfuncs(L, kguard_lib, 1);
    if (state) {
        lua_table_register(L);
        lua_series_register(L);
    } else {
        for (size_t i = 0; i < sizeof stateful / sizeof stateful[0]; i++) {
            lua_pushnil(L);
            lua_setfield(L, -2, stateful[i]);
        }
    }
    sandbox_set_global(sb, "kguard");
}
