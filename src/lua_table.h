/*
 * lua_table: the `kguard.table` userdata that gives rules the C state
 * tables (state.h), with methods has/add/get/set/incr/remove/size.  A
 * handle holds only pointers into the state, which outlives every rule
 * generation; keys are kept apart per cluster by the state's scope
 * (state_set_scope).  lua_kguard.c exposes the opener as kguard.table.
 */
#ifndef KGUARD_LUA_TABLE_H
#define KGUARD_LUA_TABLE_H

#include <lua.h>
#include "kguard/state.h"

/* Register the userdata's metatable in L (once per state). */
void lua_table_register(lua_State *L);

/* The body of kguard.table(name [, {max_entries = n, ttl = seconds}]):
 * pushes the handle of st's table name (created on first use). */
int lua_table_open(lua_State *L, kg_state *st);

/* The key argument at idx of a state method (tables, windows, baselines): a
 * string, or a number converted, of at most KG_STATE_MAX_KEY bytes, scoped
 * to st's cluster (built in buf, of KG_STATE_KEYBUF bytes); *len is its
 * length.  Raises an argument error otherwise. */
const char *lua_table_check_key(lua_State *L, kg_state *st, int idx, char *buf, size_t *len);

#endif
