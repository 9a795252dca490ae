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

/* The `outputs` list of the config table at t into c->outputs (absent:
 * none); -1 after reporting every problem.  config_free_outputs frees them. */
int config_read_outputs(lc_ctx *lc, lua_State *L, int t, kg_config *c);
void config_free_outputs(kg_config *c);

/* path as written in the config file `file`: relative to its directory;
 * malloc'd, NULL when out of memory. */
char *config_resolve(const char *file, const char *path);

/* Read the `clusters` table of the config table at t into c->clusters;
 * -1 after reporting a problem. */
int config_read_clusters(lc_ctx *lc, lua_State *L, int t, kg_config *c);
void config_clusters_free(kg_config *c);

/* Is p an AWS partition name ("aws", "aws-cn", "aws-us-gov", ...)? */
bool config_partition_ok(const char *p);

#endif
