/*
 * config_outputs: the config's `outputs` list (see config.h, config_int.h):
 * each entry one destination with its line format and, for an http(s) URL,
 * the HTTP sink's settings; what the repeatable --output with its --format
 * and --http-* options says on the command line.  Checked here, with
 * file:line messages; opened by output.c.
 */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"
#include "kguard/format.h"
#include "kguard/sink.h"

#define MAX_OUTPUTS 16           /* as many as --output takes */

static const char *const output_keys[] = {"dest", "format", "headers", "token_file",
                                          "auth_scheme", "ca_file", "array", "batch",
                                          "timeout", "drain", "spool", "spool_max", NULL};
/* The keys only an http(s) destination takes (output_keys from here on). */
#define FIRST_HTTP_KEY 2

static bool is_url(const char *d)
{
    return strncmp(d, "http://", 7) == 0 || strncmp(d, "https://", 8) == 0;
}

/* nats:SUBJECT: a JetStream subject (output.c), never a file name. */
static bool is_nats(const char *d)
{
    return strncmp(d, "nats:", 5) == 0;
}

/* t[key] as a number in [min, max] (absent: *out unchanged); -1 after
 * reporting on the line of the output's dest. */
static int number(lc_ctx *lc, lua_State *L, int t, const char *where, const char *dest,
                  const char *key, double min, double max, bool whole, double *out)
{
    int ty = lua_getfield(L, t, key), isint = 0;
    double v = lua_tonumber(L, -1);
    if (ty == LUA_TNUMBER && whole)
        (void)lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (ty == LUA_TNIL)
        return 0;
    if (ty != LUA_TNUMBER || !(v >= min && v <= max) || (whole && !isint)) {
        lc_error(lc, dest, "%s%s must be a %s from %g to %g", where, key,
                 whole ? "whole number" : "number", min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* A file name of the output, resolved against the config file's directory. */
static int path(lc_ctx *lc, lua_State *L, int t, const char *where, const char *key, char **out)
{
    char *raw = NULL;
    if (lc_string(lc, L, t, where, key, false, &raw) < 0)
        return -1;
    if (raw && !(*out = config_resolve(lc->path, raw))) {
        free(raw);
        lc_error(lc, NULL, "out of memory");
        return -1;
    }
    free(raw);
    return 0;
}

/* dest and format; the dest as written in word (where messages about the
 * entry point). */
static int read_dest(lc_ctx *lc, lua_State *L, int t, const char *where, kg_config_output *o,
                     char *word, size_t n)
{
    char *raw = NULL;
    if (lc_string(lc, L, t, where, "dest", true, &raw) < 0 ||
        lc_string(lc, L, t, where, "format", false, &o->format) < 0) {
        free(raw);
        return -1;
    }
    snprintf(word, n, "%s", raw);
    if (strcmp(raw, "-") == 0 || is_url(raw) || is_nats(raw))
        o->dest = raw;
    else {
        o->dest = config_resolve(lc->path, raw);
        free(raw);
    }
    if (o->format && !format_find(o->format)) {
        lc_error(lc, o->format, "%sformat: unknown format '%s' (formats: %s)", where, o->format,
                 format_names());
        return -1;
    }
    return o->dest ? 0 : -1;
}

/* An HTTP setting given for a destination that is not a URL. */
static int http_only(lc_ctx *lc, lua_State *L, int t, const char *where, const char *word,
                     const kg_config_output *o)
{
    int rc = 0;
    for (size_t i = FIRST_HTTP_KEY; output_keys[i]; i++) {
        bool given = lua_getfield(L, t, output_keys[i]) != LUA_TNIL;
        lua_pop(L, 1);
        if (given) {
            lc_error(lc, word, "%s%s is for an http(s) dest, not %s", where,
                     output_keys[i], o->dest);
            rc = -1;
        }
    }
    return rc;
}

static bool header_ok(const char *h)
{
    const char *colon = strchr(h, ':');
    return colon && colon != h && !strpbrk(h, "\r\n") && strcspn(h, " \t") >= (size_t)(colon - h);
}

/* The HTTP sink's settings. */
static int read_http(lc_ctx *lc, lua_State *L, int t, const char *where, const char *word,
                     kg_config_output *o)
{
    double batch = 0, spool_max = 0;
    int array = -1, rc = 0;
    o->timeout = 0;
    o->drain = -1;
    if (lua_getfield(L, t, "headers") != LUA_TNIL) {
        lua_pop(L, 1);
        if (lc_string_list(lc, L, t, where, "headers", header_ok, &o->headers, &o->n_headers) < 0)
            rc = -1;
        else if (o->n_headers > KG_HTTP_MAX_HEADERS) {
            lc_error(lc, "headers", "%sheaders: at most %d", where, KG_HTTP_MAX_HEADERS);
            rc = -1;
        }
    } else {
        lua_pop(L, 1);
    }
    if (path(lc, L, t, where, "token_file", &o->token_file) < 0 ||
        lc_string(lc, L, t, where, "auth_scheme", false, &o->auth_scheme) < 0 ||
        path(lc, L, t, where, "ca_file", &o->ca_file) < 0 ||
        path(lc, L, t, where, "spool", &o->spool) < 0 ||
        lc_bool(lc, L, t, where, "array", &array) < 0 ||
        number(lc, L, t, where, word, "batch", 1, 1000000, true, &batch) < 0 ||
        number(lc, L, t, where, word, "timeout", 0.001, 86400, false, &o->timeout) < 0 ||
        number(lc, L, t, where, word, "drain", 0, 86400, false, &o->drain) < 0 ||
        number(lc, L, t, where, word, "spool_max", 4096, 1e15, true, &spool_max) < 0)
        rc = -1;
    o->array = array == 1;
    o->batch = (size_t)batch;
    o->spool_max = (size_t)spool_max;
    if (o->array && o->format && strcmp(o->format, "text") == 0) {
        lc_error(lc, word, "%sarray sends JSON, and text lines are not", where);
        rc = -1;
    }
    return rc;
}

static int read_one(lc_ctx *lc, lua_State *L, int t, size_t i, kg_config_output *o)
{
    char where[32], word[256];
    snprintf(where, sizeof where, "outputs[%zu].", i + 1);
    if (lc_check_keys(lc, L, t, output_keys, "outputs entry") < 0 ||
        read_dest(lc, L, t, where, o, word, sizeof word) < 0)
        return -1;
    return is_url(o->dest) ? read_http(lc, L, t, where, word, o)
                           : http_only(lc, L, t, where, word, o);
}

int config_read_outputs(lc_ctx *lc, lua_State *L, int t, kg_config *c)
{
    lua_Integer len;
    int rc = 0;
    if (lua_getfield(L, t, "outputs") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    len = lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0;
    if (len < 1 || len > MAX_OUTPUTS) {
        lc_error(lc, "outputs", "outputs must be a list of 1 to %d tables {dest = ..., format = ...}",
                 MAX_OUTPUTS);
        lua_pop(L, 1);
        return -1;
    }
    if (!(c->outputs = calloc((size_t)len, sizeof *c->outputs))) {
        lua_pop(L, 1);
        return -1;
    }
    for (lua_Integer i = 1; i <= len; i++) {
        kg_config_output *o = &c->outputs[c->n_outputs++];
        o->drain = -1;
        if (lua_rawgeti(L, -1, i) != LUA_TTABLE) {
            lc_error(lc, "outputs", "outputs[%lld] must be a table", (long long)i);
            rc = -1;
        } else if (read_one(lc, L, lua_gettop(L), (size_t)(i - 1), o) < 0) {
            rc = -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

void config_free_outputs(kg_config *c)
{
    for (size_t i = 0; i < c->n_outputs; i++) {
        kg_config_output *o = &c->outputs[i];
        free(o->dest);
        free(o->format);
        lc_free_strings(o->headers, o->n_headers);
        free(o->token_file);
        free(o->auth_scheme);
        free(o->ca_file);
        free(o->spool);
    }
    free(c->outputs);
    c->outputs = NULL;
    c->n_outputs = 0;
}
