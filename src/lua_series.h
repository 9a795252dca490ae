/*
 * lua_series: the `kguard.window` and `kguard.baseline` userdata that give
 * rules the state's series (sliding windows, new-value baselines; state.h),
 * and `kguard.now`, the state's clock.  Handles hold pointers into the
 * state, which outlives every rule generation; keys are kept apart per
 * cluster (state_key).  lua_kguard.c exposes the openers.
 */
#ifndef KGUARD_LUA_SERIES_H
#define KGUARD_LUA_SERIES_H

#include <lua.h>
#include "kguard/state.h"

/* Register the userdata's metatables in L (once per state). */
void lua_series_register(lua_State *L);

/* kguard.window(name, {span = s, max_keys = n, max_values = n}) */
int lua_series_window(lua_State *L, kg_state *st);
/* kguard.baseline(name, {learn = "7d", max_keys = n, max_values = n}) */
int lua_series_baseline(lua_State *L, kg_state *st);
/* kguard.now(): the clock in epoch ms */
int lua_series_now(lua_State *L, kg_state *st);

#endif
