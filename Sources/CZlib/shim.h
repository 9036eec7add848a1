#ifndef SWEEP_CZLIB_SHIM_H
#define SWEEP_CZLIB_SHIM_H
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

/// Inflates a whole gzip (or zlib) stream. Returns 0 and sets *out (malloc'd, caller frees) and
/// *out_len on success; a zlib error code (< 0) for corrupt data, or 1 for a truncated stream.
static inline int sweep_gunzip(const unsigned char *in, size_t in_len,
                               unsigned char **out, size_t *out_len) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 15 + 32) != Z_OK) return Z_MEM_ERROR;
    size_t cap = in_len * 4 + 1024, len = 0;
    unsigned char *buf = (unsigned char *)malloc(cap);
    if (!buf) { inflateEnd(&s); return Z_MEM_ERROR; }
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)in_len; /* callers pass files well under 4 GiB */
    int rc, truncated = 0;
    while (1) {
        if (len == cap) {
            cap *= 2;
            unsigned char *nb = (unsigned char *)realloc(buf, cap);
            if (!nb) { free(buf); inflateEnd(&s); return Z_MEM_ERROR; }
            buf = nb;
        }
        s.next_out = buf + len;
        s.avail_out = (uInt)(cap - len);
        uInt before = s.avail_out;
        rc = inflate(&s, Z_NO_FLUSH);
        len += before - s.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_OK || rc == Z_BUF_ERROR) {
            if (s.avail_out == 0) continue;      /* needs more room */
            if (s.avail_in == 0) { truncated = 1; break; } /* input ended mid-stream: truncated */
            if (rc == Z_OK) continue;
        }
        break; /* Z_DATA_ERROR and friends: corrupt */
    }
    inflateEnd(&s);
    if (truncated || rc != Z_STREAM_END) { free(buf); return truncated ? 1 : (rc == Z_OK ? 1 : rc); }
    *out = buf; *out_len = len;
    return 0;
}
#endif
