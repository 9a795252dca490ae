/*
 * config_limits: the config's `limits` table (see config.h, config_int.h): the time limit
 * of a rule's predicate call and the caps of the state tables.
 */
#include <lauxlib.h>
#include "config_int.h"

typedef struct limit_key {
    const char *key;
    double min, max, scale;     /* allowed range, and the factor to the C unit */
    size_t offset;              /* into kg_limits */
    int is_long;                /* a long (else a size_t) */
} limit_key;

static const limit_key keys[] = {
    {"rule_time_ms", 1, 60000, 1, offsetof(kg_limits, rule_time_ms), 1},
    {"state_table_entries", 1, 100000000, 1, offsetof(kg_limits, state.table_max_entries), 0},
    {"state_table_mib", 1, 65536, 1 << 20, offsetof(kg_limits, state.table_max_bytes), 0},
    {"state_total_mib", 1, 65536, 1 << 20, offsetof(kg_limits, state.total_max_bytes), 0},
};

static int read_one(lc_ctx *lc, lua_State *L, int t, const limit_key *k, kg_limits *out)
{
    int ty = lua_getfield(L, t, k->key);
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (ty == LUA_TNIL)
        return 0;
    if (ty != LUA_TNUMBER || !(v >= k->min && v <= k->max)) {
        lc_error(lc, k->key, "limits.%s must be a number from %g to %g", k->key, k->min, k->max);
        return -1;
    }
    if (k->is_long)
        *(long *)((char *)out + k->offset) = (long)(v * k->scale);
    else
        *(size_t *)((char *)out + k->offset) = (size_t)(v * k->scale);
    return 0;
}

int config_read_limits(lc_ctx *lc, lua_State *L, int t, kg_limits *out)
{
    static const char *const names[] = {"rule_time_ms", "state_table_entries", "state_table_mib",
                                        "state_total_mib", NULL};
    int rc = 0;
    if (lua_getfield(L, t, "limits") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(lc, "limits", "limits must be a table");
        lua_pop(L, 1);
        return -1;
    }
    t = lua_gettop(L);
    if (lc_check_keys(lc, L, t, names, "limits"))
        rc = -1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (read_one(lc, L, t, &keys[i], out) < 0)
            rc = -1;
    lua_pop(L, 1);
    return rc;
}
