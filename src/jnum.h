/*
 * jnum: JSON numbers read back from files kguard wrote (the --state file)
 * converted only when they are finite and in range, so that a number a
 * hand edit, a bug or a bad disk put there never reaches a C cast whose
 * result is undefined.
 */
#ifndef KGUARD_JNUM_H
#define KGUARD_JNUM_H

#include <stdbool.h>
#include <cJSON.h>

/* The largest magnitude every integer up to which a double holds exactly. */
#define JNUM_EXACT 9007199254740992LL   /* 2^53 */

/* v as a long long in [lo, hi] (the bounds are clamped to +-JNUM_EXACT):
 * false when v is not a number, not finite or out of range.  A fraction is
 * dropped. */
bool jnum_ll(const cJSON *v, long long lo, long long hi, long long *out);

/* v as a finite double: false when v is not a number or is inf or NaN. */
bool jnum_finite(const cJSON *v, double *out);

#endif
