/*
 * glob: the one meaning of "glob" everywhere kguard accepts one (severity
 * keys, team namespaces, suppression `matches`).  It is fnmatch(3) with no
 * flags: '*' any run of characters ('/' and '.' included), '?' exactly one
 * character, "[...]" one character of a set ("[!...]" not of it), '\'
 * quotes the next character; anchored at both ends, case-sensitive.
 */
#ifndef KGUARD_GLOB_H
#define KGUARD_GLOB_H

#include <stdbool.h>

/* Does text match the glob pattern as a whole? */
bool glob_match(const char *pattern, const char *text);

#endif
