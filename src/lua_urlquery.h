/*
 * lua_urlquery: urlquery (the query-string decoding) for Lua: the list
 * behind ev.query(name), and the `urlquery` module that lualib requires
 * (urlquery.values(uri, name)).
 */
#ifndef KGUARD_LUA_URLQUERY_H
#define KGUARD_LUA_URLQUERY_H

#include <stddef.h>
#include <lua.h>

/* Push a list of the decoded values of parameter name (nlen bytes) of
 * uri's query string, in order; an empty list when uri is NULL or lacks
 * it. */
void lua_urlquery_push_values(lua_State *L, const char *uri, const char *name, size_t nlen);

/* The `urlquery` module table. */
int luaopen_urlquery(lua_State *L);

#endif
