/*
 * lua_state: `kguard.table(name, opts)` and the `kguard.table` userdata that
 * give rules the C state tables (state.h).  A handle holds only pointers
 * into the state, which outlives every rule generation; keys are kept apart
 * per cluster by the state's scope (state_set_scope).
 */
#ifndef KGUARD_LUA_STATE_H
#define KGUARD_LUA_STATE_H

#include <lua.h>
#include "kguard/state.h"

/* Register the metatable and push the kguard.table function bound to st. */
void lua_state_push_opener(lua_State *L, kg_state *st);

#endif
