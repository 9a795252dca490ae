/*
 * lua_event: the audit event as Lua sees it.
 *
 * One `kguard.event` userdata per rule state is created at load time and
 * pointed at each event in turn, so judging builds no Lua table per event.
 * Fields are read from the C struct on access; nested JSON comes back as
 * `kguard.json` views over the cJSON tree.  Views and the event are tied to
 * the event they were made for: used after it, they raise an error instead
 * of reading freed memory.
 */
#ifndef KGUARD_LUA_EVENT_H
#define KGUARD_LUA_EVENT_H

#include <lua.h>
#include "kguard/event.h"

/* Register the metatables and create the state's event userdata. */
void lua_event_open(lua_State *L);

/* Point the event userdata at ev (NULL: no current event). */
void lua_event_set(lua_State *L, const kg_event *ev);

/* Push the event userdata. */
void lua_event_push(lua_State *L);

#endif
