/*
 * lua_kguard: the `kguard` module rules see as a global: kguard.ip_in,
 * kguard.log and (with a state) kguard.table, kguard.window,
 * kguard.baseline and kguard.now.
 */
#ifndef KGUARD_LUA_KGUARD_H
#define KGUARD_LUA_KGUARD_H

#include "kguard/lists.h"
#include "kguard/state.h"
#include "sandbox.h"

/* Set the global `kguard` of sb.  lists and state must outlive sb; without
 * a state, kguard.table, window, baseline and now are absent. */
void lua_kguard_open(kg_sandbox *sb, const kg_lists *lists, kg_state *state);

#endif
