/*
 * config: loading the --config file (see config.h).  Each top-level key is
 * one entry of config_keys (key, reader, field); severity settings and
 * suppression rules are read here and interpreted by severity.c and
 * suppress.c.
 */
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "kguard/config.h"
#include "kguard/ipset.h"
#include "config_int.h"
#include "glob.h"
#include "lua_guard.h"
#include "luacheck.h"
#include "sandbox.h"

#define CONFIG_MEM (32u << 20)
#define CONFIG_BUDGET 10000000L

typedef struct cloader {
    lc_ctx lc;
    kg_config *c;
} cloader;

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

static int read_string(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    return lc_string(&ld->lc, L, t, "", key, false, field);
}

/* A file name, relative to the config file's directory. */
static int read_path(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    char *raw = NULL, **out = field;
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
        s->severity = s->off ? 0 : severity_parse(v, true);
    } else {
        s->severity = -1;
    }
    if (!s->off && severity_checked(s->severity) < 0) {
        lc_error(&ld->lc, name, "the severity of %s must be High, Medium, Low, a number "
                 "from 1 to below 10%s", name, allow_off ? ", or \"off\"" : "");
        return -1;
    }
    return 0;
}

/* {["Type:Kubernetes/Name" or glob] = severity, ...} */
static int severity_map(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    kg_sev_table *tab = field;
    kg_sev_setting **out = &tab->v;
    size_t *n = &tab->n;
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

/* team.clusters: absent (every cluster) or a non-empty list of names and
 * globs. */
static int team_clusters(cloader *ld, lua_State *L, int t, kg_team *team)
{
    int ty = lua_getfield(L, t, "clusters");
    lua_pop(L, 1);
    if (ty == LUA_TNIL)
        return 0;
    return lc_string_list(&ld->lc, L, t, "team ", "clusters", NULL, &team->clusters,
                          &team->n_clusters);
}

static int load_team(cloader *ld, lua_State *L, int t, kg_team *team)
{
    static const char *const keys[] = {"name", "namespaces", "clusters", "severity", NULL};
    if (lc_check_keys(&ld->lc, L, t, keys, "team") < 0 ||
        lc_string(&ld->lc, L, t, "team ", "name", true, &team->name) < 0 ||
        lc_string_list(&ld->lc, L, t, "team ", "namespaces", NULL, &team->namespaces,
                       &team->n_namespaces) < 0 ||
        team_clusters(ld, L, t, team) < 0 ||
        severity_map(ld, L, t, "severity", &team->severity) < 0)
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

static int suppress_one(cloader *ld, lua_State *L, int t, void *p)
{
    return suppress_read(&ld->lc, L, t, p);
}

static int read_teams(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    void *v = NULL;
    int rc = table_list(ld, L, t, key, sizeof(kg_team), &v, &ld->c->n_teams, team_one);
    (void)field;
    ld->c->teams = v;
    return rc;
}

static int read_suppress(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    void *v = NULL;
    int rc = table_list(ld, L, t, key, sizeof(kg_filter), &v, &ld->c->n_filters,
                        suppress_one);
    (void)field;
    ld->c->filters = v;
    return rc;
}

/* ---- top level -------------------------------------------------------- */

static int threat_lists(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    int rc = 0;
    (void)key;
    (void)field;
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

static int trusted(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    (void)key;
    (void)field;
    int ty = lua_getfield(L, t, "trusted_ips");
    lua_pop(L, 1);
    if (ty == LUA_TTABLE)
        return lc_string_list(&ld->lc, L, t, "", "trusted_ips", ip_or_cidr,
                              &ld->c->trusted_inline, &ld->c->n_trusted_inline);
    return read_path(ld, L, t, "trusted_ips", &ld->c->trusted_ips);
}

static int archive(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    (void)key;
    (void)field;
    int ty = lua_getfield(L, t, "archive");
    bool drop = ty == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (ty == LUA_TBOOLEAN && !drop) {
        lc_error(&ld->lc, "archive", "archive must be a file name, or false to drop "
                 "suppressed findings");
        return -1;
    }
    ld->c->archive_drop = drop;
    return drop ? 0 : read_path(ld, L, t, "archive", &ld->c->archive_path);
}

static int publish_interval(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    (void)key;
    (void)field;
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

static int read_bool(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    int v = -1;
    int rc = lc_bool(&ld->lc, L, t, "", key, &v);
    *(bool *)field = v == 1;
    return rc;
}

/* rule_max_failures = N (0: never switch a rule off) */
static int rule_max_failures(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    int ty = lua_getfield(L, t, key), whole = 0;
    lua_Integer v = ty == LUA_TNUMBER ? lua_tointegerx(L, -1, &whole) : 0;
    (void)field;
    lua_pop(L, 1);
    ld->c->rule_max_failures = -1;
    if (ty == LUA_TNIL)
        return 0;
    if (!whole || v < 0 || v > 1000000000) {
        lc_error(&ld->lc, key, "%s must be a whole number from 0 to 1000000000", key);
        return -1;
    }
    ld->c->rule_max_failures = (long)v;
    return 0;
}

/* partition = "aws" | "aws-cn" | "aws-us-gov" | ... */
static int read_partition(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    char **out = field;
    if (lc_string(&ld->lc, L, t, "", key, false, out) < 0)
        return -1;
    if (*out && !config_partition_ok(*out)) {
        lc_error(&ld->lc, key, "%s must be an AWS partition (aws, aws-cn, aws-us-gov, ...), "
                 "got \"%s\"", key, *out);
        return -1;
    }
    return 0;
}

static int read_clusters(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    (void)key;
    (void)field;
    return config_read_clusters(&ld->lc, L, t, ld->c);
}

static int read_limits(cloader *ld, lua_State *L, int t, const char *key, void *field)
{
    (void)key;
    return config_read_limits(&ld->lc, L, t, field);
}

/* ---- the key table ---------------------------------------------------- */

typedef int (*key_reader)(cloader *ld, lua_State *L, int t, const char *key, void *field);

#define FIELD(m) offsetof(kg_config, m)
#define NO_FIELD ((size_t)-1)

/* Every top-level key: a new key is one entry here (plus its field in
 * kg_config, its free in config_free, and its README line). */
static const struct config_key {
    const char *key;
    key_reader read;
    size_t field;          /* offset into kg_config, or NO_FIELD */
} config_keys[] = {
    {"cluster", read_string, FIELD(cluster)},
    {"account_id", read_string, FIELD(account_id)},
    {"region", read_string, FIELD(region)},
    {"partition", read_partition, FIELD(partition)},
    {"clusters", read_clusters, NO_FIELD},
    {"tor_exits", read_path, FIELD(tor_exits)},
    {"malicious_ips", read_path, FIELD(malicious_ips)},
    {"threat_lists", threat_lists, NO_FIELD},
    {"trusted_ips", trusted, NO_FIELD},
    {"rules", read_path, FIELD(rules_dir)},
    {"lualib", read_path, FIELD(lualib_dir)},
    {"state", read_path, FIELD(state_path)},
    {"archive", archive, NO_FIELD},
    {"publish_interval", publish_interval, NO_FIELD},
    {"literal_lists", read_bool, FIELD(literal_lists)},
    {"rule_max_failures", rule_max_failures, NO_FIELD},
    {"severity", severity_map, FIELD(severity)},
    {"teams", read_teams, NO_FIELD},
    {"suppress", read_suppress, NO_FIELD},
    {"limits", read_limits, FIELD(limits)},
};
#define N_KEYS (sizeof config_keys / sizeof config_keys[0])

bool config_key_known(const char *key)
{
    for (size_t i = 0; key && i < N_KEYS; i++)
        if (strcmp(config_keys[i].key, key) == 0)
            return true;
    return false;
}

static void read_config(cloader *ld, lua_State *L, int t)
{
    const char *allowed[N_KEYS + 1];
    for (size_t i = 0; i < N_KEYS; i++)
        allowed[i] = config_keys[i].key;
    allowed[N_KEYS] = NULL;
    lc_check_keys(&ld->lc, L, t, allowed, "config");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct config_key *k = &config_keys[i];
        k->read(ld, L, t, k->key, k->field == NO_FIELD ? NULL : (char *)ld->c + k->field);
    }
}

/* read_config in protected mode: the settings table is Lua's, and a
 * metatable anywhere in it could raise or loop. */
static int read_config_protected(lua_State *L)
{
    read_config(lua_touserdata(L, 1), L, 2);
    return 0;
}

kg_config *config_load(const char *path, void (*error)(void *ud, const char *msg),
                       void *ud, char *err, size_t errlen)
{
    cloader ld = {{path, 0, error, ud}, NULL};
    kg_sandbox *sb = NULL;
    char chunk[4200];
    lua_State *L;

    if (!(ld.c = calloc(1, sizeof *ld.c)) || !(ld.c->file = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    ld.c->publish_interval = -1;
    ld.c->rule_max_failures = -1;
    if (!(sb = sandbox_new("/nonexistent", CONFIG_MEM, CONFIG_BUDGET, err, errlen)))
        goto fail;
    L = sb->L;
    snprintf(chunk, sizeof chunk, "@%s", path);
    if (sandbox_loadfile(sb, path, chunk) != LUA_OK || sandbox_pcall(sb, 0, 1) != LUA_OK) {
        error(ud, lua_tostring(L, -1));
        ld.lc.errors++;
    } else if (!lua_istable(L, -1)) {
        lc_error(&ld.lc, NULL, "must return a table of settings (got %s)", luaL_typename(L, -1));
    } else if (lguard_call(sb, read_config_protected, &ld, -1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (strncmp(msg, path, strlen(path)) == 0 || strncmp(msg, "...", 3) == 0) {
            error(ud, msg);
            ld.lc.errors++;
        } else {
            lc_error(&ld.lc, NULL, "reading the settings failed: %s", msg);
        }
    }
    sandbox_free(sb);
    sb = NULL;
    if (ld.lc.errors) {
        snprintf(err, errlen, "%d problem%s in %s", ld.lc.errors,
                 ld.lc.errors == 1 ? "" : "s", path);
        goto fail;
    }
    return ld.c;
fail:
    sandbox_free(sb);
    config_free(ld.c);
    return NULL;
}

void config_free(kg_config *c)
{
    if (!c)
        return;
    free(c->file);
    free(c->cluster);
    free(c->account_id);
    free(c->region);
    free(c->partition);
    config_clusters_free(c);
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
    severity_table_free(&c->severity);
    for (size_t i = 0; i < c->n_teams; i++) {
        free(c->teams[i].name);
        lc_free_strings(c->teams[i].namespaces, c->teams[i].n_namespaces);
        lc_free_strings(c->teams[i].clusters, c->teams[i].n_clusters);
        severity_table_free(&c->teams[i].severity);
    }
    free(c->teams);
    for (size_t i = 0; i < c->n_filters; i++)
        suppress_free(&c->filters[i]);
    free(c->filters);
    free(c);
}

/* ---- applying it ------------------------------------------------------ */

static bool any_glob(char *const *globs, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (glob_match(globs[i], s))
            return true;
    return false;
}

const kg_team *config_team(const kg_config *c, const char *cluster, const char *ns)
{
    for (size_t t = 0; c && ns && t < c->n_teams; t++) {
        const kg_team *team = &c->teams[t];
        if ((!team->n_clusters || any_glob(team->clusters, team->n_clusters, cluster)) &&
            any_glob(team->namespaces, team->n_namespaces, ns))
            return team;
    }
    return NULL;
}

bool config_severity(const kg_config *c, const kg_team *team, const char *type,
                     double *sev)
{
    return severity_resolve(team ? &team->severity : NULL, c ? &c->severity : NULL,
                            type, sev);
}

const kg_filter *config_suppressed(const kg_config *c, const cJSON *finding)
{
    return c ? suppress_match(c->filters, c->n_filters, finding) : NULL;
}
