/*
 * format_int: what the format modules (format_*.c) share privately: the
 * render functions of the table, and readers of the GuardDuty-shaped
 * finding by dotted path.
 */
#ifndef KGUARD_FORMAT_INT_H
#define KGUARD_FORMAT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "kguard/format.h"

char *format_guardduty_render(const cJSON *f, const kg_format_opts *o);
char *format_asff_render(const cJSON *f, const kg_format_opts *o);
char *format_ocsf_render(const cJSON *f, const kg_format_opts *o);
char *format_falco_render(const cJSON *f, const kg_format_opts *o);
char *format_text_render(const cJSON *f, const kg_format_opts *o);
char *format_text_summary(const kg_summary *s, const kg_format_opts *o);

/* The item at a dotted path of object keys ("service.count"); NULL when
 * any step is missing. */
const cJSON *format_get(const cJSON *f, const char *path);
/* The string at path, or NULL when it is absent or not a string. */
const char *format_str(const cJSON *f, const char *path);
/* The number at path, or dflt. */
double format_num(const cJSON *f, const char *path, double dflt);
/* The time string at path as epoch ms, or -1. */
long long format_time_ms(const cJSON *f, const char *path);
/* The caller's address: remoteIpDetails, else the first sourceIPs entry. */
const char *format_caller_ip(const cJSON *f);
/* True for a finding that updates one published before (count above 1, or
 * updatedAt after createdAt). */
bool format_is_update(const cJSON *f);
/* s cut to at most max characters (UTF-8 code points), malloc'd; a cut
 * string ends in "..." within the limit. */
char *format_truncate(const char *s, size_t max);
/* Add a string member when v is not NULL. */
void format_add_str(cJSON *o, const char *k, const char *v);
/* Add a copy of s cut to max characters, when s is not NULL. */
void format_add_cut(cJSON *o, const char *k, const char *s, size_t max);
/* The strings of arr joined with "," between open and close ("(a,b)"),
 * malloc'd; NULL when arr is not an array or out of memory. */
char *format_join(const cJSON *arr, const char *open, const char *close);
/* o printed on one line; o is deleted.  NULL when out of memory. */
char *format_print(cJSON *o);
/* The tactic of a type ("Discovery" of "Discovery:Kubernetes/X") into buf. */
const char *format_tactic(const char *type, char *buf, size_t n);

#endif
