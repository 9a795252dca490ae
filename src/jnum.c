/*
 * jnum: range-checked conversions of cJSON numbers (see jnum.h).
 */
#include <math.h>
#include "jnum.h"

bool jnum_ll(const cJSON *v, long long lo, long long hi, long long *out)
{
    double d;
    if (lo < -JNUM_EXACT)
        lo = -JNUM_EXACT;
    if (hi > JNUM_EXACT)
        hi = JNUM_EXACT;
    if (!jnum_finite(v, &d) || d < (double)lo || d > (double)hi)
        return false;
    *out = (long long)d;   /* in range: the cast is defined */
    return true;
}

bool jnum_finite(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}
