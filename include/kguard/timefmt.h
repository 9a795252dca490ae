/*
 * timefmt: timestamps as audit events carry them and as findings print
 * them.  Parsing accepts RFC 3339 (also "YYYY-MM-DD HH:MM:SS[.frac]" and a
 * numeric zone offset); formatting always gives UTC with milliseconds.
 */
#ifndef KGUARD_TIMEFMT_H
#define KGUARD_TIMEFMT_H

/* Parse s to epoch milliseconds in *ms; 0, or -1 when it is not a time. */
int timefmt_parse(const char *s, long long *ms);

/* Format epoch ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (32 bytes);
 * returns buf.  Negative times print as the epoch. */
const char *timefmt_format(long long ms, char buf[32]);

#endif
