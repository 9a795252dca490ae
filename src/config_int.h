/*
 * config_int.h: what the config module's files share privately (config.c,
 * config_limits.c).
 */
#ifndef KGUARD_CONFIG_INT_H
#define KGUARD_CONFIG_INT_H

#include <lua.h>
#include "kguard/config.h"
#include "luacheck.h"

/* Read the `limits` table of the config table at t into out (absent: out
 * is left as it is); -1 after reporting a problem. */
int config_read_limits(lc_ctx *lc, lua_State *L, int t, kg_limits *out);

#endif
