/*
 * suppress: compiling suppression rules from the config's Lua tables and
 * matching findings against them (see suppress.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include "kguard/suppress.h"
#include "kguard/timefmt.h"
#include "glob.h"
#include "luacheck.h"

/* ---- reading ---------------------------------------------------------- */

static const struct { const char *name; kg_cond cond; } conds[] = {
    {"equals", KG_EQUALS}, {"notEquals", KG_NOT_EQUALS},
    {"greaterThan", KG_GREATER}, {"greaterThanOrEqual", KG_GREATER_EQ},
    {"lessThan", KG_LESS}, {"lessThanOrEqual", KG_LESS_EQ},
    {"matches", KG_MATCHES}, {"notMatches", KG_NOT_MATCHES},
};

/* attribute = {condition = value(s)}: exactly one condition per attribute. */
static int load_criterion(lc_ctx *lc, lua_State *L, const char *attr, kg_criterion *cr)
{
    const char *cname = NULL;
    size_t k;
    int t = lua_gettop(L);
    lua_pushnil(L);
    if (!lua_istable(L, t) || !lua_next(L, t)) {
        lc_error(lc, attr, "criterion %s must be a table like {equals = {...}}", attr);
        return -1;
    }
    cname = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    for (k = 0; k < sizeof conds / sizeof conds[0]; k++)
        if (strcmp(conds[k].name, cname) == 0)
            break;
    lua_pop(L, 2);
    if (k == sizeof conds / sizeof conds[0]) {
        lc_error(lc, cname, "unknown condition '%s' for %s", cname, attr);
        return -1;
    }
    lua_pushnil(L);
    lua_next(L, t);                 /* the first key and value */
    lua_pop(L, 1);                  /* keep the key to go on from */
    if (lua_next(L, t)) {
        lua_pop(L, 2);
        lc_error(lc, attr, "criterion %s must have one condition", attr);
        return -1;
    }
    cr->attribute = strdup(attr);
    cr->cond = conds[k].cond;
    if (cr->cond == KG_EQUALS || cr->cond == KG_NOT_EQUALS || cr->cond == KG_MATCHES ||
        cr->cond == KG_NOT_MATCHES) {
        if (lc_string_list(lc, L, t, "", cname, NULL, &cr->values, &cr->n_values) < 0)
            return -1;
        if (cr->n_values > SUPPRESS_MAX_VALUES) {
            lc_error(lc, attr, "%s of %s takes at most %d values", cname, attr,
                     SUPPRESS_MAX_VALUES);
            return -1;
        }
        return 0;
    }
    lua_getfield(L, t, cname);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        cr->number = lua_tonumber(L, -1);
    } else {
        long long ms;
        if (lua_type(L, -1) != LUA_TSTRING ||
            timefmt_parse(lua_tostring(L, -1), &ms) < 0) {
            lc_error(lc, cname, "%s of %s must be a number or an ISO-8601 time", cname, attr);
            lua_pop(L, 1);
            return -1;
        }
        cr->number = (double)ms;
    }
    lua_pop(L, 1);
    return 0;
}

int suppress_read(lc_ctx *lc, lua_State *L, int t, kg_filter *f)
{
    static const char *const keys[] = {"name", "description", "criteria", NULL};
    int rc = 0;
    if (lc_check_keys(lc, L, t, keys, "suppression rule") < 0 ||
        lc_string(lc, L, t, "suppression rule ", "name", true, &f->name) < 0 ||
        lc_string(lc, L, t, "suppression rule ", "description", false, &f->description) < 0)
        return -1;
    if (lua_getfield(L, t, "criteria") != LUA_TTABLE) {
        lc_error(lc, f->name, "suppression rule %s needs criteria = {attribute = "
                 "{condition = ...}}", f->name);
        lua_pop(L, 1);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        kg_criterion *nv;
        const char *attr = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!attr || !(nv = realloc(f->criteria, (f->n_criteria + 1) * sizeof *nv))) {
            lc_error(lc, f->name, "criteria keys of %s must be attribute paths", f->name);
            rc = -1;
        } else {
            f->criteria = nv;
            memset(&f->criteria[f->n_criteria], 0, sizeof *nv);
            if (load_criterion(lc, L, attr, &f->criteria[f->n_criteria++]) < 0)
                rc = -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (rc == 0 && !f->n_criteria) {
        lc_error(lc, f->name, "suppression rule %s has no criteria", f->name);
        rc = -1;
    }
    return rc;
}

void suppress_free(kg_filter *f)
{
    for (size_t i = 0; i < f->n_criteria; i++) {
        free(f->criteria[i].attribute);
        lc_free_strings(f->criteria[i].values, f->criteria[i].n_values);
    }
    free(f->criteria);
    free(f->name);
    free(f->description);
}

/* ---- matching --------------------------------------------------------- */

/* Collect the values at a dotted path, descending into every array element
 * on the way (containers.imagePrefix gives every container's). */
static void collect(const cJSON *node, const char *path, const cJSON **out,
                    size_t *n, size_t max)
{
    char seg[128];
    size_t len = strcspn(path, ".");
    const cJSON *it;
    if (!node || *n >= max)
        return;
    if (cJSON_IsArray(node)) {
        cJSON_ArrayForEach(it, node)
            collect(it, path, out, n, max);
        return;
    }
    if (*path == '\0') {
        out[(*n)++] = node;
        return;
    }
    if (len >= sizeof seg || !cJSON_IsObject(node))
        return;
    memcpy(seg, path, len);
    seg[len] = '\0';
    /* case-insensitive: the filter spelling hostIpc finds hostIPC */
    collect(cJSON_GetObjectItem(node, seg), path + len + (path[len] == '.'), out, n, max);
}

static bool value_number(const cJSON *v, double *out)
{
    long long ms;
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (cJSON_IsString(v) && timefmt_parse(v->valuestring, &ms) == 0) {
        *out = (double)ms;
        return true;
    }
    return false;
}

static const char *value_text(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%g", v->valuedouble);
        return buf;
    }
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    return NULL;
}

/* Does one value satisfy the criterion's (positive) condition? */
static bool value_holds(const kg_criterion *cr, const cJSON *v)
{
    char buf[64];
    const char *s = value_text(v, buf, sizeof buf);
    double d;
    switch (cr->cond) {
    case KG_EQUALS:
    case KG_NOT_EQUALS:
        for (size_t i = 0; s && i < cr->n_values; i++)
            if (strcmp(s, cr->values[i]) == 0)
                return true;
        return false;
    case KG_MATCHES:
    case KG_NOT_MATCHES:
        for (size_t i = 0; s && i < cr->n_values; i++)
            if (glob_match(cr->values[i], s))
                return true;
        return false;
    case KG_GREATER: return value_number(v, &d) && d > cr->number;
    case KG_GREATER_EQ: return value_number(v, &d) && d >= cr->number;
    case KG_LESS: return value_number(v, &d) && d < cr->number;
    case KG_LESS_EQ: return value_number(v, &d) && d <= cr->number;
    }
    return false;
}

/* Any value satisfies it; for the negative conditions, no value matches
 * any of the listed ones. */
static bool criterion_holds(const kg_criterion *cr, const cJSON *finding)
{
    const cJSON *vals[256];
    size_t n = 0;
    bool any = false, negative = cr->cond == KG_NOT_EQUALS || cr->cond == KG_NOT_MATCHES;
    collect(finding, cr->attribute, vals, &n, 256);
    for (size_t i = 0; i < n && !any; i++)
        any = value_holds(cr, vals[i]);
    return negative ? !any : any;
}

const kg_filter *suppress_match(const kg_filter *rules, size_t n, const cJSON *finding)
{
    for (size_t f = 0; rules && f < n; f++) {
        bool all = true;
        for (size_t i = 0; i < rules[f].n_criteria && all; i++)
            all = criterion_holds(&rules[f].criteria[i], finding);
        if (all)
            return &rules[f];
    }
    return NULL;
}
