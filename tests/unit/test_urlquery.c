/* Unit tests for urlquery (query-string splitting and decoding) and its Lua
 * side: the urlquery module as the rule sandbox offers it, and lualib's
 * paths.query on top of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include "kguard/urlquery.h"
#include "lua_urlquery.h"
#include "sandbox.h"
#include "tap.h"

#define EXEC_URI "/api/v1/namespaces/kube-system/pods/coredns-5d78c9869d-8xk2p/exec" \
                 "?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&container=coredns&stdin=true"

static const char *decoded(const char *s)
{
    static char out[256];
    size_t n = urlquery_decode(s, strlen(s), out);
    out[n] = '\0';
    return out;
}

static void test_decode(void)
{
    is_str(decoded("cat+%2Fetc%2Fshadow"), "cat /etc/shadow", "+ is a space, %XX decoded");
    is_str(decoded("%2f%2F"), "//", "hex digits in either case");
    is_str(decoded("100%"), "100%", "a lone % at the end is kept");
    is_str(decoded("%zz%4"), "%zz%4", "a % without two hex digits is kept");
    is_str(decoded(""), "", "empty");
}

static void test_split(void)
{
    const char *cur = urlquery_of(EXEC_URI);
    kg_qparam p;
    int n = 0;
    ok(urlquery_of("/api/v1/pods") == NULL, "no '?': no query string");
    ok(urlquery_of(NULL) == NULL, "no URI: no query string");
    while (urlquery_next(&cur, &p))
        n++;
    is_int(n, 5, "five parameters");
    cur = urlquery_of("/x?&&a=1&&b&c=");
    ok(urlquery_next(&cur, &p) && p.key_len == 1 && p.key[0] == 'a' && p.val_len == 1 &&
       p.val[0] == '1', "empty parts skipped, a=1");
    ok(urlquery_next(&cur, &p) && p.key_len == 1 && p.key[0] == 'b' && p.val_len == 0,
       "b without '=' has an empty value");
    ok(urlquery_next(&cur, &p) && p.key[0] == 'c' && p.val_len == 0, "c= has an empty value");
    ok(!urlquery_next(&cur, &p), "the end");
}

/* Run chunk (a file in a temp dir) in a rule sandbox over ./lualib; the
 * result is its string return value, or the error. */
static const char *run_in_sandbox(const char *chunk)
{
    static char result[512];
    char path[] = "/tmp/kguard-urlquery-XXXXXX", err[256];
    int fd = mkstemp(path);
    kg_sandbox *sb = sandbox_new("lualib", 0, 0, err, sizeof err);
    if (fd < 0 || write(fd, chunk, strlen(chunk)) != (ssize_t)strlen(chunk) || !sb)
        abort();
    close(fd);
    if (sandbox_loadfile(sb, path, "=test") != 0 || sandbox_pcall(sb, 0, 1) != 0)
        snprintf(result, sizeof result, "error: %s", lua_tostring(sb->L, -1));
    else
        snprintf(result, sizeof result, "%s", lua_tostring(sb->L, -1));
    sandbox_free(sb);
    unlink(path);
    return result;
}

static void test_lua(void)
{
    is_str(run_in_sandbox("local v = require('urlquery').values('" EXEC_URI "', 'command')\n"
                          "return table.concat(v, '|')"),
           "sh|-c|cat /etc/shadow", "urlquery.values in the rule sandbox: repeated values in order");
    is_str(run_in_sandbox("local q = require('urlquery')\n"
                          "return #q.values(nil, 'x') .. #q.values('/x?a=1', 5) .. #q.values('/x', 'a')"),
           "000", "a URI or name that is not a string, or no query: an empty list");
    is_str(run_in_sandbox("local v = require('paths').query('" EXEC_URI "', 'container')\n"
                          "return #v .. ':' .. v[1]"),
           "1:coredns", "lualib's paths.query is the same decoder");
}

int main(void)
{
    test_decode();
    test_split();
    test_lua();   /* prove runs from the project root: ./lualib */
    return done_testing();
}
