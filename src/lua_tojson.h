/*
 * lua_tojson: a plain Lua value (a predicate's `detection` table) as cJSON.
 * Tables whose keys are 1..n become arrays (an empty table an object),
 * other tables objects with string keys; strings, numbers (integers stay
 * integral), booleans.  Anything else, a non-string key in an object,
 * nesting deeper than 16 or more than 4096 values is an error.
 */
#ifndef KGUARD_LUA_TOJSON_H
#define KGUARD_LUA_TOJSON_H

#include <cJSON.h>
#include <lua.h>

/* The value at idx as a new cJSON tree; NULL with the reason in *why. */
cJSON *lua_tojson(lua_State *L, int idx, const char **why);

#endif
