/*
 * lpattern: Lua 5.4's pattern functions (string.find, match, gmatch, gsub)
 * with the same language and results, whose matcher charges its work to the
 * sandbox's instruction budget, so backtracking cannot run unbounded inside
 * one C call.
 */
#ifndef KGUARD_LPATTERN_H
#define KGUARD_LPATTERN_H

#include <lua.h>

/* Replace find, match, gmatch and gsub in the string library table at
 * index strlib. */
void lpattern_open(lua_State *L, int strlib);

#endif
