/*
 * fuzz_lists: threat-list parsing.  The bytes are loaded as a list file
 * (plain IPs and CIDRs, ipsum and FireHOL columns, the Tor Project's
 * exit-addresses format), the set is finalized and every address the file
 * named on a good line must then be found in it.
 */
#include "kguard/ipset.h"
#include "fuzz_util.h"

static void on_warn(void *ud, const char *path, long line, const char *msg)
{
    (void)ud;
    if (!path || !msg || line < 1)
        abort();
}

/* The first word of every line that parses as a bare address is in the set. */
static void check_members(const kg_ipset *set, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char word[64];
        kg_ip ip;
        size_t w = strcspn(p, " \t\r\n#");
        if (w < sizeof word && w <= n && p[0] != '#') {
            memcpy(word, p, w);
            word[w] = '\0';
            if (ipset_parse_ip(word, &ip) && !ipset_contains(set, &ip))
                abort();   /* a listed address the set does not hold */
        }
        p += n + (e ? 1 : 0);
        if (!e)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[256];
    kg_ipset *set = ipset_new("fuzz");
    int fd = fuzz_memfile(data, size, path, sizeof path);
    char *text = fuzz_string(data, size);
    if (set && fd >= 0 && text && ipset_load_file(set, path, on_warn, NULL, err, sizeof err) >= 0 &&
        ipset_finalize(set) == 0 && !memchr(data, '\0', size))
        check_members(set, text);
    if (fd >= 0)
        close(fd);
    free(text);
    ipset_free(set);
    return 0;
}
