/*
 * config_int.h: what the config module's files share privately (config.c,
 * config_limits.c, config_clusters.c).
 */
#ifndef KGUARD_CONFIG_INT_H
#define KGUARD_CONFIG_INT_H

#include <lua.h>
#include "kguard/config.h"
#include "luacheck.h"

/* Read the `limits` table of the config table at t into out (absent: out
 * is left as it is); -1 after reporting a problem. */
int config_read_limits(lc_ctx *lc, lua_State *L, int t, kg_limits *out);

/* Read the `clusters` table of the config table at t into c->clusters;
 * -1 after reporting a problem. */
int config_read_clusters(lc_ctx *lc, lua_State *L, int t, kg_config *c);
void config_clusters_free(kg_config *c);

/* Is p an AWS partition name ("aws", "aws-cn", "aws-us-gov", ...)? */
bool config_partition_ok(const char *p);

#endif
