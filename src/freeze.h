/*
 * freeze: read-only proxies for tables that every rule of a state shares
 * (the standard libraries, LPeg, the kguard table, lualib modules).
 *
 * A proxy is an empty table whose metatable reads through to the real
 * table, refuses writes with an error naming the writer's file and line,
 * answers # and pairs(), calls the real table's __call, and is itself
 * protected (getmetatable gives false).  A deep proxy hands out nested tables as proxies too.  The real
 * table is never handed to Lua code, so no rule can change what another
 * sees.  One proxy per real table (cached), so identity comparisons hold.
 */
#ifndef KGUARD_FREEZE_H
#define KGUARD_FREEZE_H

#include <lua.h>

/* Create the registry tables; call once per state. */
void freeze_open(lua_State *L);

/* Push the proxy of the table at idx, named name in error messages; deep
 * proxies freeze nested tables on access. */
void freeze_push(lua_State *L, int idx, const char *name, int deep);

/* A new table with weak keys, stored in the registry under key (the
 * proxies' bookkeeping; sandbox_lpeg.c keeps its pattern sets so). */
void freeze_weak_table(lua_State *L, const char *key);
/* Whether the value at idx is a key of the registry table under key. */
int freeze_in_table(lua_State *L, const char *key, int idx);

/* Whether the value at idx is a proxy (rawset refuses those). */
int freeze_is_proxy(lua_State *L, int idx);

#endif
