/*
 * lua_guard: reading tables that Lua code handed back (a rule file's table,
 * a predicate's overrides, the config) without letting their metatables
 * reach the engine outside a protected call.
 */
#ifndef KGUARD_LUA_GUARD_H
#define KGUARD_LUA_GUARD_H

#include <lua.h>
#include "sandbox.h"

/* Call f(L) in protected mode under the sandbox's budget, with the light
 * userdata ud at index 1 and a copy of the value at index idx at index 2.
 * f may leave nresults values; returns LUA_OK, or an error code with the
 * message (never NULL: a non-string error becomes a description) on top. */
int lguard_call(kg_sandbox *sb, lua_CFunction f, void *ud, int idx, int nresults);

/* True when the value at idx is a table with a metatable (reads through
 * lua_getfield could then run Lua code and raise). */
int lguard_has_meta(lua_State *L, int idx);

#endif
