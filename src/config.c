/*
 * config: loading and applying the --config file (see config.h).
 */
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "kguard/config.h"
#include "kguard/finding.h"
#include "kguard/ipset.h"
#include "config_limits.h"
#include "luacheck.h"
#include "sandbox.h"

#define CONFIG_MEM (32u << 20)
#define CONFIG_BUDGET 10000000L

/* Globs for suppression `matches`, compiled to anchored LPeg patterns:
 * '*' any run of characters, '?' one character, '\' quotes the next. */
static const char GLOB_LUA[] =
    "local lpeg = require 'lpeg'\n"
    "local P, V = lpeg.P, lpeg.V\n"
    "local function compile(g, i)\n"
    "  if i > #g then return P(-1) end\n"
    "  local c = g:sub(i, i)\n"
    "  if c == '*' then\n"
    "    local rest = compile(g, i + 1)\n"
    "    return P{ rest + 1 * V(1) }\n"
    "  elseif c == '?' then return 1 * compile(g, i + 1)\n"
    "  elseif c == '\\\\' and i < #g then return P(g:sub(i + 1, i + 1)) * compile(g, i + 2)\n"
    "  end\n"
    "  return P(c) * compile(g, i + 1)\n"
    "end\n"
    "return function(g) return compile(g, 1) end\n";

typedef struct cloader {
    lc_ctx lc;
    kg_config *c;
    kg_sandbox *sb;
    int compile_ref;       /* the glob compiler */
} cloader;

double config_parse_severity_name(const char *s)
{
    char *end;
    double v = finding_severity_of(s);
    if (v > 0)
        return v;
    v = strtod(s, &end);
    return end != s && *end == '\0' && v >= 1 && v < 10 ? v : -1;
}

/* A path from the config, relative to the config file's directory. */
static char *resolve(const char *file, const char *path)
{
    char *dir, *out;
    size_t n;
    if (path[0] == '/')
        return strdup(path);
    if (!(dir = strdup(file)))
        return NULL;
    n = strlen(dir) + strlen(path) + 2;
    if ((out = malloc(n)) != NULL)
        snprintf(out, n, "%s/%s", dirname(dir), path);
    free(dir);
    return out;
}

static int path_field(cloader *ld, lua_State *L, int t, const char *key, char **out)
{
    char *raw = NULL;
    if (lc_string(&ld->lc, L, t, "", key, false, &raw) < 0)
        return -1;
    if (raw) {
        *out = resolve(ld->c->file, raw);
        free(raw);
    }
    return 0;
}

/* A severity value: "High", "Medium", "Low", a number in [1, 10), or "off"
 * when allow_off. */
static int severity_value(cloader *ld, lua_State *L, int idx, const char *name,
                          bool allow_off, kg_sev_setting *s)
{
    s->off = false;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        s->severity = lua_tonumber(L, idx);
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        const char *v = lua_tostring(L, idx);
        s->off = allow_off && strcmp(v, "off") == 0;
        s->severity = s->off ? 0 : config_parse_severity_name(v);
    } else {
        s->severity = -1;
    }
    if (!s->off && !(s->severity >= 1 && s->severity < 10)) {
        lc_error(&ld->lc, name, "the severity of %s must be High, Medium, Low, a number "
                 "from 1 to below 10%s", name, allow_off ? ", or \"off\"" : "");
        return -1;
    }
    return 0;
}

/* {["Type:Kubernetes/Name" or glob] = severity, ...} */
static int severity_map(cloader *ld, lua_State *L, int t, const char *key,
                        kg_sev_setting **out, size_t *n)
{
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (lua_getfield(L, t, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(&ld->lc, key, "%s must be a table of finding type = severity", key);
        lua_pop(L, 1);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        kg_sev_setting s, *nv;
        const char *type = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!type || !strchr(type, '/')) {
            lc_error(&ld->lc, key, "%s keys must be finding types like "
                     "\"Discovery:Kubernetes/*\"", key);
            rc = -1;
        } else if (severity_value(ld, L, -1, type, true, &s) == 0 &&
                   (nv = realloc(*out, (*n + 1) * sizeof *nv)) != NULL) {
            *out = nv;
            s.pattern = strdup(type);
            (*out)[(*n)++] = s;
        } else {
            rc = -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

static int load_team(cloader *ld, lua_State *L, int t, kg_team *team)
{
    static const char *const keys[] = {"name", "namespaces", "severity", NULL};
    if (lc_check_keys(&ld->lc, L, t, keys, "team") < 0 ||
        lc_string(&ld->lc, L, t, "team ", "name", true, &team->name) < 0 ||
        lc_string_list(&ld->lc, L, t, "team ", "namespaces", NULL, &team->namespaces,
                       &team->n_namespaces) < 0 ||
        severity_map(ld, L, t, "severity", &team->severity, &team->n_severity) < 0)
        return -1;
    if (!team->n_namespaces) {
        lc_error(&ld->lc, team->name, "team %s owns no namespaces", team->name);
        return -1;
    }
    return 0;
}

/* A list of tables at key, each read by one(). */
static int table_list(cloader *ld, lua_State *L, int t, const char *key, size_t size,
                      void **out, size_t *n,
                      int (*one)(cloader *, lua_State *, int, void *))
{
    lua_Integer len;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (lua_getfield(L, t, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(&ld->lc, key, "%s must be a list of tables", key);
        lua_pop(L, 1);
        return -1;
    }
    len = (lua_Integer)lua_rawlen(L, -1);
    if (len > 0 && !(*out = calloc((size_t)len, size))) {
        lua_pop(L, 1);
        return -1;
    }
    for (lua_Integer i = 1; i <= len; i++) {
        if (lua_rawgeti(L, -1, i) != LUA_TTABLE) {
            lc_error(&ld->lc, key, "%s[%lld] must be a table", key, (long long)i);
            rc = -1;
        } else if (one(ld, L, lua_gettop(L), (char *)*out + (size_t)(i - 1) * size) < 0) {
            rc = -1;
        }
        (*n)++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

static int team_one(cloader *ld, lua_State *L, int t, void *p)
{
    return load_team(ld, L, t, p);
}

/* ---- suppression rules ------------------------------------------------ */

static const struct { const char *name; kg_cond cond; } conds[] = {
    {"equals", KG_EQUALS}, {"notEquals", KG_NOT_EQUALS},
    {"greaterThan", KG_GREATER}, {"greaterThanOrEqual", KG_GREATER_EQ},
    {"lessThan", KG_LESS}, {"lessThanOrEqual", KG_LESS_EQ},
    {"matches", KG_MATCHES}, {"notMatches", KG_NOT_MATCHES},
};

static int compile_patterns(cloader *ld, lua_State *L, kg_criterion *cr)
{
    if (!(cr->patterns = calloc(cr->n_values, sizeof *cr->patterns)))
        return -1;
    for (size_t i = 0; i < cr->n_values; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ld->compile_ref);
        lua_pushstring(L, cr->values[i]);
        if (sandbox_pcall(ld->sb, 1, 1) != LUA_OK) {
            lc_error(&ld->lc, cr->values[i], "bad pattern \"%s\": %s", cr->values[i],
                     lua_tostring(L, -1));
            lua_pop(L, 1);
            return -1;
        }
        cr->patterns[cr->n_patterns++] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

/* attribute = {condition = value(s)}: exactly one condition per attribute. */
static int load_criterion(cloader *ld, lua_State *L, const char *attr, kg_criterion *cr)
{
    const char *cname = NULL;
    size_t k;
    int t = lua_gettop(L);
    lua_pushnil(L);
    if (!lua_istable(L, t) || !lua_next(L, t)) {
        lc_error(&ld->lc, attr, "criterion %s must be a table like {equals = {...}}", attr);
        return -1;
    }
    cname = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    for (k = 0; k < sizeof conds / sizeof conds[0]; k++)
        if (strcmp(conds[k].name, cname) == 0)
            break;
    lua_pop(L, 2);
    if (k == sizeof conds / sizeof conds[0]) {
        lc_error(&ld->lc, cname, "unknown condition '%s' for %s", cname, attr);
        return -1;
    }
    lua_pushnil(L);
    lua_next(L, t);                 /* the first key and value */
    lua_pop(L, 1);                  /* keep the key to go on from */
    if (lua_next(L, t)) {
        lua_pop(L, 2);
        lc_error(&ld->lc, attr, "criterion %s must have one condition", attr);
        return -1;
    }
    cr->attribute = strdup(attr);
    cr->cond = conds[k].cond;
    if (cr->cond == KG_EQUALS || cr->cond == KG_NOT_EQUALS || cr->cond == KG_MATCHES ||
        cr->cond == KG_NOT_MATCHES) {
        if (lc_string_list(&ld->lc, L, t, "", cname, NULL, &cr->values, &cr->n_values) < 0)
            return -1;
        if (cr->n_values > 50) {
            lc_error(&ld->lc, attr, "%s of %s takes at most 50 values", cname, attr);
            return -1;
        }
        return cr->cond >= KG_MATCHES ? compile_patterns(ld, L, cr) : 0;
    }
    lua_getfield(L, t, cname);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        cr->number = lua_tonumber(L, -1);
    } else {
        long long ms;
        if (lua_type(L, -1) != LUA_TSTRING ||
            finding_parse_time(lua_tostring(L, -1), &ms) < 0) {
            lc_error(&ld->lc, cname, "%s of %s must be a number or an ISO-8601 time", cname, attr);
            lua_pop(L, 1);
            return -1;
        }
        cr->number = (double)ms;
    }
    lua_pop(L, 1);
    return 0;
}

static int filter_one(cloader *ld, lua_State *L, int t, void *p)
{
    static const char *const keys[] = {"name", "description", "criteria", NULL};
    kg_filter *f = p;
    int rc = 0;
    if (lc_check_keys(&ld->lc, L, t, keys, "suppression rule") < 0 ||
        lc_string(&ld->lc, L, t, "suppression rule ", "name", true, &f->name) < 0 ||
        lc_string(&ld->lc, L, t, "suppression rule ", "description", false, &f->description) < 0)
        return -1;
    if (lua_getfield(L, t, "criteria") != LUA_TTABLE) {
        lc_error(&ld->lc, f->name, "suppression rule %s needs criteria = {attribute = "
                 "{condition = ...}}", f->name);
        lua_pop(L, 1);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        kg_criterion *nv;
        const char *attr = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!attr || !(nv = realloc(f->criteria, (f->n_criteria + 1) * sizeof *nv))) {
            lc_error(&ld->lc, f->name, "criteria keys of %s must be attribute paths", f->name);
            rc = -1;
        } else {
            f->criteria = nv;
            memset(&f->criteria[f->n_criteria], 0, sizeof *nv);
            if (load_criterion(ld, L, attr, &f->criteria[f->n_criteria++]) < 0)
                rc = -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (rc == 0 && !f->n_criteria) {
        lc_error(&ld->lc, f->name, "suppression rule %s has no criteria", f->name);
        rc = -1;
    }
    return rc;
}

/* ---- top level -------------------------------------------------------- */

static int threat_lists(cloader *ld, lua_State *L, int t)
{
    int rc = 0;
    if (lua_getfield(L, t, "threat_lists") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lc_error(&ld->lc, "threat_lists", "threat_lists must be a table of name = file");
        lua_pop(L, 1);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        kg_named_path *nv;
        const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!name || lua_type(L, -1) != LUA_TSTRING ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
                != strlen(name)) {
            lc_error(&ld->lc, name ? name : "threat_lists",
                     "threat_lists entries must be name = \"file\" (name of letters, digits, . _ -)");
            rc = -1;
        } else if ((nv = realloc(ld->c->threat_lists,
                                 (ld->c->n_threat_lists + 1) * sizeof *nv)) != NULL) {
            ld->c->threat_lists = nv;
            nv[ld->c->n_threat_lists].name = strdup(name);
            nv[ld->c->n_threat_lists++].path = resolve(ld->c->file, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

/* trusted_ips: a file name, or a list of addresses and CIDRs. */
static bool ip_or_cidr(const char *s)
{
    kg_ipset *probe = ipset_new("probe");
    char msg[128];
    bool ok = probe && ipset_add(probe, s, msg, sizeof msg) == 0;
    ipset_free(probe);
    return ok;
}

static int trusted(cloader *ld, lua_State *L, int t)
{
    int ty = lua_getfield(L, t, "trusted_ips");
    lua_pop(L, 1);
    if (ty == LUA_TTABLE)
        return lc_string_list(&ld->lc, L, t, "", "trusted_ips", ip_or_cidr,
                              &ld->c->trusted_inline, &ld->c->n_trusted_inline);
    return path_field(ld, L, t, "trusted_ips", &ld->c->trusted_ips);
}

static int archive(cloader *ld, lua_State *L, int t)
{
    int ty = lua_getfield(L, t, "archive");
    bool drop = ty == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (ty == LUA_TBOOLEAN && !drop) {
        lc_error(&ld->lc, "archive", "archive must be a file name, or false to drop "
                 "suppressed findings");
        return -1;
    }
    ld->c->archive_drop = drop;
    return drop ? 0 : path_field(ld, L, t, "archive", &ld->c->archive_path);
}

static int publish_interval(cloader *ld, lua_State *L, int t)
{
    int ty = lua_getfield(L, t, "publish_interval");
    ld->c->publish_interval = ty == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
    lua_pop(L, 1);
    if ((ty != LUA_TNIL && ty != LUA_TNUMBER) ||
        (ty == LUA_TNUMBER && !(ld->c->publish_interval >= 0))) {
        lc_error(&ld->lc, "publish_interval", "publish_interval must be seconds (>= 0)");
        return -1;
    }
    return 0;
}

static void read_config(cloader *ld, lua_State *L, int t)
{
    static const char *const keys[] = {
        "cluster", "account_id", "region", "tor_exits", "malicious_ips", "threat_lists",
        "trusted_ips", "rules", "lualib", "state", "archive", "publish_interval",
        "severity", "teams", "suppress", "limits", NULL
    };
    kg_config *c = ld->c;
    void *v;
    lc_check_keys(&ld->lc, L, t, keys, "config");
    lc_string(&ld->lc, L, t, "", "cluster", false, &c->cluster);
    lc_string(&ld->lc, L, t, "", "account_id", false, &c->account_id);
    lc_string(&ld->lc, L, t, "", "region", false, &c->region);
    path_field(ld, L, t, "tor_exits", &c->tor_exits);
    path_field(ld, L, t, "malicious_ips", &c->malicious_ips);
    threat_lists(ld, L, t);
    trusted(ld, L, t);
    path_field(ld, L, t, "rules", &c->rules_dir);
    path_field(ld, L, t, "lualib", &c->lualib_dir);
    path_field(ld, L, t, "state", &c->state_path);
    archive(ld, L, t);
    publish_interval(ld, L, t);
    severity_map(ld, L, t, "severity", &c->severity, &c->n_severity);
    table_list(ld, L, t, "teams", sizeof(kg_team), &v, &c->n_teams, team_one);
    c->teams = v;
    table_list(ld, L, t, "suppress", sizeof(kg_filter), &v, &c->n_filters, filter_one);
    c->filters = v;
    config_read_limits(&ld->lc, L, t, &c->limits);
}

static int load_glob_compiler(cloader *ld)
{
    lua_State *L = ld->sb->L;
    if (luaL_loadbufferx(L, GLOB_LUA, sizeof GLOB_LUA - 1, "=glob", "t") != LUA_OK)
        return -1;
    sandbox_push_globals(ld->sb);   /* it needs require and lpeg */
    lua_setupvalue(L, -2, 1);
    if (sandbox_pcall(ld->sb, 0, 1) != LUA_OK)
        return -1;
    ld->compile_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

kg_config *config_load(const char *path, void (*error)(void *ud, const char *msg),
                       void *ud, char *err, size_t errlen)
{
    cloader ld = {{path, 0, error, ud}, NULL, NULL, LUA_NOREF};
    char chunk[4200];
    lua_State *L;

    if (!(ld.c = calloc(1, sizeof *ld.c)) || !(ld.c->file = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    ld.c->publish_interval = -1;
    if (!(ld.sb = sandbox_new("/nonexistent", CONFIG_MEM, CONFIG_BUDGET, err, errlen)))
        goto fail;
    ld.c->lua = ld.sb;
    L = ld.sb->L;
    if (load_glob_compiler(&ld) < 0) {
        snprintf(err, errlen, "cannot build the pattern compiler: %s", lua_tostring(L, -1));
        goto fail;
    }
    snprintf(chunk, sizeof chunk, "@%s", path);
    if (sandbox_loadfile(ld.sb, path, chunk) != LUA_OK || sandbox_pcall(ld.sb, 0, 1) != LUA_OK) {
        error(ud, lua_tostring(L, -1));
        ld.lc.errors++;
    } else if (!lua_istable(L, -1)) {
        lc_error(&ld.lc, NULL, "must return a table of settings (got %s)", luaL_typename(L, -1));
    } else {
        read_config(&ld, L, lua_gettop(L));
    }
    lua_settop(L, 0);
    if (ld.lc.errors) {
        snprintf(err, errlen, "%d problem%s in %s", ld.lc.errors,
                 ld.lc.errors == 1 ? "" : "s", path);
        goto fail;
    }
    return ld.c;
fail:
    config_free(ld.c);
    return NULL;
}

static void free_filter(kg_filter *f)
{
    for (size_t i = 0; i < f->n_criteria; i++) {
        free(f->criteria[i].attribute);
        lc_free_strings(f->criteria[i].values, f->criteria[i].n_values);
        free(f->criteria[i].patterns);
    }
    free(f->criteria);
    free(f->name);
    free(f->description);
}

static void free_settings(kg_sev_setting *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].pattern);
    free(s);
}

void config_free(kg_config *c)
{
    if (!c)
        return;
    free(c->file);
    free(c->cluster);
    free(c->account_id);
    free(c->region);
    free(c->tor_exits);
    free(c->malicious_ips);
    free(c->trusted_ips);
    for (size_t i = 0; i < c->n_threat_lists; i++) {
        free(c->threat_lists[i].name);
        free(c->threat_lists[i].path);
    }
    free(c->threat_lists);
    lc_free_strings(c->trusted_inline, c->n_trusted_inline);
    free(c->rules_dir);
    free(c->lualib_dir);
    free(c->state_path);
    free(c->archive_path);
    free_settings(c->severity, c->n_severity);
    for (size_t i = 0; i < c->n_teams; i++) {
        free(c->teams[i].name);
        lc_free_strings(c->teams[i].namespaces, c->teams[i].n_namespaces);
        free_settings(c->teams[i].severity, c->teams[i].n_severity);
    }
    free(c->teams);
    for (size_t i = 0; i < c->n_filters; i++)
        free_filter(&c->filters[i]);
    free(c->filters);
    sandbox_free(c->lua);
    free(c);
}

/* ---- applying it ------------------------------------------------------ */

const kg_team *config_team(const kg_config *c, const char *ns)
{
    for (size_t t = 0; c && ns && t < c->n_teams; t++)
        for (size_t i = 0; i < c->teams[t].n_namespaces; i++)
            if (fnmatch(c->teams[t].namespaces[i], ns, 0) == 0)
                return &c->teams[t];
    return NULL;
}

/* The most specific matching setting: an exact type beats a glob. */
static const kg_sev_setting *find_setting(const kg_sev_setting *v, size_t n, const char *type)
{
    const kg_sev_setting *glob = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].pattern, type) == 0)
            return &v[i];
        if (!glob && fnmatch(v[i].pattern, type, 0) == 0)
            glob = &v[i];
    }
    return glob;
}

bool config_severity(const kg_config *c, const kg_team *team, const char *type,
                     double *sev)
{
    const kg_sev_setting *s = NULL;
    if (!c)
        return true;
    if (team)
        s = find_setting(team->severity, team->n_severity, type);
    if (!s)
        s = find_setting(c->severity, c->n_severity, type);
    if (s && s->off)
        return false;
    if (s)
        *sev = s->severity;
    return true;
}

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
    if (cJSON_IsString(v) && finding_parse_time(v->valuestring, &ms) == 0) {
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

static bool pattern_match(const kg_config *c, int ref, const char *s)
{
    kg_sandbox *sb = c->lua;
    lua_State *L = sb->L;
    bool hit;
    sandbox_push_globals(sb);
    lua_getfield(L, -1, "lpeg");
    lua_getfield(L, -1, "match");
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_pushstring(L, s);
    hit = sandbox_pcall(sb, 2, 1) == LUA_OK && !lua_isnil(L, -1);
    lua_settop(L, 0);
    return hit;
}

/* Does one value satisfy the criterion's (positive) condition? */
static bool value_holds(const kg_config *c, const kg_criterion *cr, const cJSON *v)
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
        for (size_t i = 0; s && i < cr->n_patterns; i++)
            if (pattern_match(c, cr->patterns[i], s))
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
static bool criterion_holds(const kg_config *c, const kg_criterion *cr, const cJSON *finding)
{
    const cJSON *vals[256];
    size_t n = 0;
    bool any = false, negative = cr->cond == KG_NOT_EQUALS || cr->cond == KG_NOT_MATCHES;
    collect(finding, cr->attribute, vals, &n, 256);
    for (size_t i = 0; i < n && !any; i++)
        any = value_holds(c, cr, vals[i]);
    return negative ? !any : any;
}

const kg_filter *config_suppressed(const kg_config *c, const cJSON *finding)
{
    for (size_t f = 0; c && f < c->n_filters; f++) {
        bool all = true;
        for (size_t i = 0; i < c->filters[f].n_criteria && all; i++)
            all = criterion_holds(c, &c->filters[f].criteria[i], finding);
        if (all)
            return &c->filters[f];
    }
    return NULL;
}
