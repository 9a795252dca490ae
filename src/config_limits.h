/*
 * config_limits: reading the config's `limits` table into kg_limits.
 */
#ifndef KGUARD_CONFIG_LIMITS_H
#define KGUARD_CONFIG_LIMITS_H

#include <lua.h>
#include "kguard/config.h"
#include "luacheck.h"

/* Read limits from the config table at t (absent: leave out as it is);
 * -1 after reporting a problem. */
int config_read_limits(lc_ctx *lc, lua_State *L, int t, kg_limits *out);

#endif
