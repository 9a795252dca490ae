/*
 * lua_event: `kguard.event` and `kguard.json` userdata (see lua_event.h).
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "kguard/workload.h"
#include "lua_event.h"
#include "lua_urlquery.h"

#define EVENT_MT "kguard.event"
#define VIEW_MT "kguard.json"

typedef struct event_ud {
    const kg_event *ev;
    unsigned long seq;     /* bumped for every event */
    int self, view_mt, fields;  /* registry references */
} event_ud;

typedef struct view_ud {
    const cJSON *node;
    unsigned long seq;
} view_ud;

/* The state's one event userdata, kept in the state's extra space: views
 * and fields are read many times per predicate, so no registry lookups by
 * name on that path. */
static event_ud *current(lua_State *L)
{
    return *(event_ud **)lua_getextraspace(L);
}

static const kg_event *check_event(lua_State *L, int idx)
{
    event_ud *e = current(L);
    if (lua_touserdata(L, idx) != e)
        luaL_typeerror(L, idx, "kguard event");
    if (!e->ev)
        luaL_error(L, "the event is no longer available");
    return e->ev;
}

static const cJSON *check_view(lua_State *L, int idx)
{
    view_ud *v = lua_touserdata(L, idx);
    event_ud *e = current(L);
    int is_view = 0;
    if (v && lua_getmetatable(L, idx)) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, e->view_mt);
        is_view = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!is_view)
        luaL_typeerror(L, idx, "JSON view");
    if (!e->ev || e->seq != v->seq)
        luaL_error(L, "a JSON view was used after its event");
    return v->node;
}

/* Push a JSON value: scalars as Lua values, objects and arrays as views. */
static void push_json(lua_State *L, const cJSON *node)
{
    if (!node || cJSON_IsNull(node)) {
        lua_pushnil(L);
    } else if (cJSON_IsString(node)) {
        lua_pushstring(L, node->valuestring);
    } else if (cJSON_IsNumber(node)) {
        double d = node->valuedouble;
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(lua_Integer)d)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(node)) {
        lua_pushboolean(L, cJSON_IsTrue(node));
    } else {
        view_ud *v = lua_newuserdatauv(L, sizeof *v, 0);
        v->node = node;
        v->seq = current(L)->seq;
        lua_rawgeti(L, LUA_REGISTRYINDEX, current(L)->view_mt);
        lua_setmetatable(L, -2);
    }
}

static const cJSON *json_child(const cJSON *node, lua_State *L, int key)
{
    if (cJSON_IsArray(node) && lua_isinteger(L, key)) {
        lua_Integer i = lua_tointeger(L, key);
        return i >= 1 && i <= cJSON_GetArraySize(node)
                   ? cJSON_GetArrayItem(node, (int)(i - 1)) : NULL;
    }
    if (cJSON_IsObject(node) && lua_type(L, key) == LUA_TSTRING)
        return cJSON_GetObjectItemCaseSensitive(node, lua_tostring(L, key));
    return NULL;
}

/* A deep copy into plain Lua tables. */
static void push_table(lua_State *L, const cJSON *node)
{
    const cJSON *it;
    lua_Integer i = 1;
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node)) {
        push_json(L, node);
        return;
    }
    luaL_checkstack(L, 4, "JSON too deep");
    lua_newtable(L);
    cJSON_ArrayForEach(it, node) {
        push_table(L, it);
        if (cJSON_IsArray(node))
            lua_rawseti(L, -2, i++);
        else
            lua_setfield(L, -2, it->string);
    }
}

static int view_totable(lua_State *L)
{
    push_table(L, check_view(L, 1));
    return 1;
}

static int view_index(lua_State *L)
{
    const cJSON *node = check_view(L, 1);
    const cJSON *child = json_child(node, L, 2);
    if (!child && lua_type(L, 2) == LUA_TSTRING &&
        strcmp(lua_tostring(L, 2), "totable") == 0) {
        lua_pushcfunction(L, view_totable);
        return 1;
    }
    push_json(L, child);
    return 1;
}

static int view_len(lua_State *L)
{
    lua_pushinteger(L, cJSON_GetArraySize(check_view(L, 1)));
    return 1;
}

/* pairs(view): the iterator keeps the view itself (upvalue 1), the next
 * child (light userdata, 2) and its index (3).  The view is checked on
 * every step, so an iterator kept past its event raises instead of walking
 * a freed tree. */
static int view_next(lua_State *L)
{
    const cJSON *it;
    lua_Integer i;
    lua_pushvalue(L, lua_upvalueindex(1));
    (void)check_view(L, -1);
    lua_pop(L, 1);
    it = lua_touserdata(L, lua_upvalueindex(2));
    i = lua_tointeger(L, lua_upvalueindex(3));
    if (!it)
        return 0;
    lua_pushlightuserdata(L, it->next);
    lua_replace(L, lua_upvalueindex(2));
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(3));
    if (it->string)
        lua_pushstring(L, it->string);
    else
        lua_pushinteger(L, i);
    push_json(L, it);
    return 2;
}

static int view_pairs(lua_State *L)
{
    const cJSON *node = check_view(L, 1);
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, node->child);
    lua_pushinteger(L, 1);
    lua_pushcclosure(L, view_next, 3);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int view_tostring(lua_State *L)
{
    const cJSON *node = check_view(L, 1);
    char *s = cJSON_PrintUnformatted(node);
    if (!s)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, s);
    cJSON_free(s);
    return 1;
}

/* ---- the event -------------------------------------------------------- */

enum field {
    F_AUDIT_ID = 1, F_STAGE, F_LEVEL, F_VERB, F_REQUEST_URI, F_USER_AGENT,
    F_USERNAME, F_RESOURCE, F_SUBRESOURCE, F_NAMESPACE, F_NAME, F_API_GROUP,
    F_API_VERSION, F_STATUS_CODE, F_DECISION, F_ANONYMOUS, F_SUCCESS,
    F_RECEIVED_AT, F_USER, F_GROUPS, F_SOURCE_IPS, F_IMPERSONATED_USER,
    F_OBJECT_REF, F_REQUEST_OBJECT, F_RESPONSE_OBJECT, F_ANNOTATIONS,
    F_RESPONSE_STATUS, F_GET, F_BODY, F_POD_SPEC, F_WORKLOAD_KIND, F_QUERY,
    F_TIME, F_CLUSTER
};

static const struct { const char *name; enum field f; } fields[] = {
    {"audit_id", F_AUDIT_ID}, {"stage", F_STAGE}, {"level", F_LEVEL},
    {"verb", F_VERB}, {"request_uri", F_REQUEST_URI},
    {"user_agent", F_USER_AGENT}, {"username", F_USERNAME},
    {"resource", F_RESOURCE}, {"subresource", F_SUBRESOURCE},
    {"namespace", F_NAMESPACE}, {"name", F_NAME}, {"api_group", F_API_GROUP},
    {"api_version", F_API_VERSION}, {"status_code", F_STATUS_CODE},
    {"decision", F_DECISION}, {"anonymous", F_ANONYMOUS},
    {"success", F_SUCCESS}, {"received_at", F_RECEIVED_AT}, {"user", F_USER},
    {"groups", F_GROUPS}, {"source_ips", F_SOURCE_IPS},
    {"impersonated_user", F_IMPERSONATED_USER}, {"object_ref", F_OBJECT_REF},
    {"request_object", F_REQUEST_OBJECT},
    {"response_object", F_RESPONSE_OBJECT}, {"annotations", F_ANNOTATIONS},
    {"response_status", F_RESPONSE_STATUS}, {"get", F_GET}, {"body", F_BODY},
    {"pod_spec", F_POD_SPEC}, {"workload_kind", F_WORKLOAD_KIND},
    {"query", F_QUERY}, {"time", F_TIME}, {"cluster", F_CLUSTER},
};

/* ev:get("requestObject.spec.containers"): any dotted path from the root;
 * numeric segments index arrays from 1. */
static int event_get(lua_State *L)
{
    const kg_event *ev = check_event(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const cJSON *node = ev->root;
    char seg[256];

    while (node && *path) {
        size_t n = strcspn(path, ".");
        char *end;
        long idx;
        if (n == 0 || n >= sizeof seg)
            return luaL_error(L, "bad path segment in '%s'", lua_tostring(L, 2));
        memcpy(seg, path, n);
        seg[n] = '\0';
        idx = strtol(seg, &end, 10);
        if (node == ev->root)
            node = event_member(ev, seg);
        else if (cJSON_IsArray(node) && *end == '\0')
            node = idx >= 1 ? cJSON_GetArrayItem(node, (int)(idx - 1)) : NULL;
        else
            node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, seg) : NULL;
        path += n + (path[n] == '.');
    }
    push_json(L, node);
    return 1;
}

/* ev:query(name) / ev.query(name): the decoded values of a query parameter
 * of requestURI, in order, as a list. */
static int event_query(lua_State *L)
{
    int arg = lua_type(L, 1) == LUA_TUSERDATA ? 2 : 1;  /* ev:query or ev.query */
    const event_ud *e = current(L);
    const kg_event *ev = e ? e->ev : NULL;
    size_t nlen;
    const char *name = luaL_checklstring(L, arg, &nlen);

    if (!ev)
        return luaL_error(L, "the event is no longer available");
    lua_urlquery_push_values(L, ev->request_uri, name, nlen);
    return 1;
}

static void push_opt_string(lua_State *L, const char *s)
{
    if (s)
        lua_pushstring(L, s);
    else
        lua_pushnil(L);
}

static int event_index(lua_State *L)
{
    const kg_event *ev = check_event(L, 1);
    lua_Integer f;
    lua_rawgeti(L, LUA_REGISTRYINDEX, current(L)->fields);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    f = lua_tointeger(L, -1);
    lua_pop(L, 2);
    switch ((enum field)f) {
    case F_AUDIT_ID: push_opt_string(L, ev->audit_id); break;
    case F_STAGE: push_opt_string(L, ev->stage); break;
    case F_LEVEL: push_opt_string(L, ev->level); break;
    case F_VERB: push_opt_string(L, ev->verb); break;
    case F_REQUEST_URI: push_opt_string(L, ev->request_uri); break;
    case F_USER_AGENT: push_opt_string(L, ev->user_agent); break;
    case F_USERNAME: push_opt_string(L, ev->username); break;
    case F_RESOURCE: push_opt_string(L, ev->resource); break;
    case F_SUBRESOURCE: push_opt_string(L, ev->subresource); break;
    case F_NAMESPACE: push_opt_string(L, ev->ns); break;
    case F_NAME: push_opt_string(L, ev->name); break;
    case F_API_GROUP: push_opt_string(L, ev->api_group); break;
    case F_API_VERSION: push_opt_string(L, ev->api_version); break;
    case F_DECISION: push_opt_string(L, ev->decision); break;
    case F_RECEIVED_AT: push_opt_string(L, ev->received_at); break;
    case F_STATUS_CODE:
        if (ev->status_code >= 0)
            lua_pushinteger(L, ev->status_code);
        else
            lua_pushnil(L);
        break;
    case F_ANONYMOUS: lua_pushboolean(L, ev->anonymous); break;
    case F_SUCCESS: lua_pushboolean(L, ev->success); break;
    case F_USER: push_json(L, ev->user); break;
    case F_GROUPS: push_json(L, ev->groups); break;
    case F_SOURCE_IPS: push_json(L, ev->source_ips); break;
    case F_IMPERSONATED_USER: push_json(L, ev->impersonated_user); break;
    case F_OBJECT_REF: push_json(L, ev->object_ref); break;
    case F_REQUEST_OBJECT: push_json(L, event_request_object(ev)); break;
    case F_RESPONSE_OBJECT: push_json(L, event_response_object(ev)); break;
    case F_ANNOTATIONS: push_json(L, ev->annotations); break;
    case F_RESPONSE_STATUS: push_json(L, ev->response_status); break;
    case F_GET: lua_pushcfunction(L, event_get); break;
    case F_QUERY: lua_pushcfunction(L, event_query); break;
    case F_BODY: push_json(L, workload_body(ev)); break;
    case F_POD_SPEC: push_json(L, workload_pod_spec(ev)); break;
    case F_WORKLOAD_KIND: push_opt_string(L, workload_kind(ev)); break;
    case F_TIME:
        if (ev->time_ms >= 0)
            lua_pushinteger(L, ev->time_ms);
        else
            lua_pushnil(L);
        break;
    case F_CLUSTER: push_opt_string(L, ev->cluster); break;
    default:
        return luaL_error(L, "the event has no field '%s'", luaL_tolstring(L, 2, NULL));
    }
    return 1;
}

static int event_tostring(lua_State *L)
{
    const kg_event *ev = check_event(L, 1);
    lua_pushfstring(L, "event %s %s %s", ev->audit_id ? ev->audit_id : "?",
                    ev->verb, ev->request_uri ? ev->request_uri : "");
    return 1;
}

static int readonly(lua_State *L)
{
    return luaL_error(L, "audit events are read-only");
}

void lua_event_open(lua_State *L)
{
    static const luaL_Reg event_mt[] = {
        {"__index", event_index}, {"__newindex", readonly},
        {"__tostring", event_tostring}, {NULL, NULL}
    };
    static const luaL_Reg view_mt[] = {
        {"__index", view_index}, {"__newindex", readonly}, {"__len", view_len},
        {"__pairs", view_pairs}, {"__tostring", view_tostring}, {NULL, NULL}
    };
    event_ud *e;

    luaL_newmetatable(L, EVENT_MT);
    luaL_setfuncs(L, event_mt, 0);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    e = lua_newuserdatauv(L, sizeof *e, 0);
    e->ev = NULL;
    e->seq = 0;
    luaL_setmetatable(L, EVENT_MT);
    e->self = luaL_ref(L, LUA_REGISTRYINDEX);
    *(event_ud **)lua_getextraspace(L) = e;

    luaL_newmetatable(L, VIEW_MT);
    luaL_setfuncs(L, view_mt, 0);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    e->view_mt = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_createtable(L, 0, (int)(sizeof fields / sizeof fields[0]));
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        lua_pushinteger(L, fields[i].f);
        lua_setfield(L, -2, fields[i].name);
    }
    e->fields = luaL_ref(L, LUA_REGISTRYINDEX);
}

void lua_event_set(lua_State *L, const kg_event *ev)
{
    event_ud *e = current(L);
    e->ev = ev;
    e->seq++;
}

void lua_event_push(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, current(L)->self);
}
