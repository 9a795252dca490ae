/*
 * config_clusters: the config's per-cluster identity (see config.h,
 * config_int.h): the `clusters` table of name = {account_id, region,
 * partition}, the top-level `partition`, their checks, and looking a
 * cluster's section up.
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "config_int.h"

#define CLUSTER_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static bool all_of(const char *s, const char *set)
{
    return s[0] && strspn(s, set) == strlen(s);
}

bool config_partition_ok(const char *p)
{
    return strncmp(p, "aws", 3) == 0 && strspn(p, "abcdefghijklmnopqrstuvwxyz-") == strlen(p) &&
           p[strlen(p) - 1] != '-';
}

bool config_cluster_name_ok(const char *name)
{
    return strlen(name) < 256 && all_of(name, CLUSTER_CHARS);
}

static bool account_ok(const char *a)
{
    return strlen(a) == 12 && all_of(a, "0123456789");
}

static bool region_ok(const char *r)
{
    return strlen(r) < 64 && all_of(r, "abcdefghijklmnopqrstuvwxyz0123456789-");
}

/* One string field of a section, checked by ok; where names the section. */
static int field(lc_ctx *lc, lua_State *L, int t, const char *where, const char *key,
                 bool (*ok)(const char *), const char *want, char **out)
{
    if (lc_string(lc, L, t, where, key, false, out) < 0)
        return -1;
    if (*out && !ok(*out)) {
        lc_error(lc, *out, "%s%s must be %s, got \"%s\"", where, key, want, *out);
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int read_section(lc_ctx *lc, lua_State *L, int t, const char *name,
                        kg_cluster_conf *cc)
{
    static const char *const keys[] = {"account_id", "region", "partition", NULL};
    char where[300];
    int rc = 0;
    snprintf(where, sizeof where, "clusters[\"%s\"].", name);
    if (lc_check_keys(lc, L, t, keys, "cluster section") < 0)
        rc = -1;
    if (field(lc, L, t, where, "account_id", account_ok, "12 digits", &cc->account_id) < 0 ||
        field(lc, L, t, where, "region", region_ok,
              "a region name (lower-case letters, digits, -)", &cc->region) < 0 ||
        field(lc, L, t, where, "partition", config_partition_ok,
              "an AWS partition (aws, aws-cn, aws-us-gov, ...)", &cc->partition) < 0)
        rc = -1;
    return rc;
}

/* The entry at the top of the stack (key at -2, value at -1). */
static int read_entry(lc_ctx *lc, lua_State *L, kg_config *c)
{
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    kg_cluster_conf *nv;
    if (!name || !config_cluster_name_ok(name)) {
        lc_error(lc, name ? name : "clusters", "clusters keys must be cluster names "
                 "(letters, digits, . _ -), got %s", name ? name : luaL_typename(L, -2));
        return -1;
    }
    if (!lua_istable(L, -1)) {
        lc_error(lc, name, "clusters[\"%s\"] must be a table of account_id, region, "
                 "partition", name);
        return -1;
    }
    if (!(nv = realloc(c->clusters, (c->n_clusters + 1) * sizeof *nv))) {
        lc_error(lc, NULL, "out of memory");
        return -1;
    }
    c->clusters = nv;
    nv += c->n_clusters++;
    memset(nv, 0, sizeof *nv);
    if (!(nv->name = strdup(name))) {
        lc_error(lc, NULL, "out of memory");
        return -1;
    }
    return read_section(lc, L, lua_gettop(L), name, nv);
}

int config_read_clusters(lc_ctx *lc, lua_State *L, int t, kg_config *c)
{
    int rc = 0;
    if (lua_getfield(L, t, "clusters") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(lc, "clusters", "clusters must be a table of name = {account_id, region, "
                 "partition}");
        lua_pop(L, 1);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (read_entry(lc, L, c) < 0)
            rc = -1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

void config_clusters_free(kg_config *c)
{
    for (size_t i = 0; i < c->n_clusters; i++) {
        free(c->clusters[i].name);
        free(c->clusters[i].account_id);
        free(c->clusters[i].region);
        free(c->clusters[i].partition);
    }
    free(c->clusters);
}

const kg_cluster_conf *config_cluster(const kg_config *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n_clusters; i++)
        if (strcmp(c->clusters[i].name, name) == 0)
            return &c->clusters[i];
    return NULL;
}
