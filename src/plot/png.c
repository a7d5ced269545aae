/* PNG encoding: CRC-32, Adler-32, zlib/deflate (fixed Huffman + LZ77) and
 * the chunk layout. */
#include "gpu_watch/png.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

uint32_t png_crc32(uint32_t crc, const void *data, size_t len)
{
    static uint32_t table[256];
    static bool ready;
    if (!ready) {
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        ready = true;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t png_adler32(uint32_t a, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t s1 = a & 0xffff, s2 = a >> 16;
    while (len) {
        /* 5552 bytes is the most that cannot overflow 32 bits (zlib's NMAX). */
        size_t n = len < 5552 ? len : 5552;
        len -= n;
        while (n--) {
            s1 += *p++;
            s2 += s1;
        }
        s1 %= 65521;
        s2 %= 65521;
    }
    return (s2 << 16) | s1;
}

/* Deflate output, bits packed least significant first (RFC 1951 3.1.1). */
struct bits {
    struct gw_buf *out; /* keeps the first error */
    uint64_t acc;
    int n;
};

static void put_bits(struct bits *b, uint32_t v, int n)
{
    b->acc |= (uint64_t)v << b->n;
    b->n += n;
    while (b->n >= 8) {
        buf_putc(b->out, (char)(b->acc & 0xff));
        b->acc >>= 8;
        b->n -= 8;
    }
}

static void flush_bits(struct bits *b)
{
    if (b->n > 0)
        put_bits(b, 0, 8 - b->n);
}

/* Huffman codes are sent most significant bit first: reverse them. */
static void put_code(struct bits *b, uint32_t code, int n)
{
    uint32_t r = 0;
    for (int i = 0; i < n; i++)
        r |= ((code >> i) & 1) << (n - 1 - i);
    put_bits(b, r, n);
}

/* A literal/length symbol with the fixed code of RFC 1951 3.2.6. */
static void put_litlen(struct bits *b, int sym)
{
    if (sym < 144)
        put_code(b, 0x30 + (uint32_t)sym, 8);
    else if (sym < 256)
        put_code(b, 0x190 + (uint32_t)(sym - 144), 9);
    else if (sym < 280)
        put_code(b, (uint32_t)(sym - 256), 7);
    else
        put_code(b, 0xC0 + (uint32_t)(sym - 280), 8);
}

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(struct bits *b, int len, int dist)
{
    int ls = 28;
    while (len_base[ls] > len)
        ls--;
    put_litlen(b, 257 + ls);
    put_bits(b, (uint32_t)(len - len_base[ls]), len_extra[ls]);
    int ds = 29;
    while (dist_base[ds] > dist)
        ds--;
    put_code(b, (uint32_t)ds, 5);
    put_bits(b, (uint32_t)(dist - dist_base[ds]), dist_extra[ds]);
}

#define WINDOW    32768
#define HASH_BITS 15
#define MAX_CHAIN 16
#define MIN_MATCH 3
#define MAX_MATCH 258

static uint32_t hash3(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void put_zlib_header(struct gw_buf *out)
{
    /* CMF 0x78: deflate with a 32 KiB window; FLG 0x01 makes the pair a
     * multiple of 31 (RFC 1950 2.2). */
    buf_append(out, "\x78\x01", 2);
}

static void put_be32(struct gw_buf *out, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_append(out, b, 4);
}

int zlib_compress(const void *data, size_t len, struct gw_buf *out)
{
    const uint8_t *p = data;
    int32_t *head = malloc(sizeof(int32_t) << HASH_BITS);
    int32_t *prev = malloc(sizeof(int32_t) * WINDOW);
    if (!head || !prev) {
        free(head);
        free(prev);
        return -ENOMEM;
    }
    for (size_t i = 0; i < (size_t)1 << HASH_BITS; i++)
        head[i] = -1;
    put_zlib_header(out);
    struct bits b = {.out = out};
    put_bits(&b, 1, 1); /* BFINAL: one block */
    put_bits(&b, 1, 2); /* BTYPE 01: fixed Huffman codes */
    size_t i = 0;
    while (i < len) {
        int best = 0, best_dist = 0;
        if (i + MIN_MATCH <= len) {
            uint32_t h = hash3(p + i);
            int32_t cand = head[h];
            size_t max = len - i < MAX_MATCH ? len - i : MAX_MATCH;
            for (int chain = 0; cand >= 0 && chain < MAX_CHAIN; chain++) {
                size_t dist = i - (size_t)cand;
                if (dist > WINDOW - 1)
                    break;
                size_t l = 0;
                while (l < max && p[(size_t)cand + l] == p[i + l])
                    l++;
                if ((int)l > best) {
                    best = (int)l;
                    best_dist = (int)dist;
                    if (l == max)
                        break;
                }
                int32_t nx = prev[cand % WINDOW];
                if (nx >= cand)
                    break;
                cand = nx;
            }
        }
        size_t step = best >= MIN_MATCH ? (size_t)best : 1;
        if (best >= MIN_MATCH)
            put_match(&b, best, best_dist);
        else
            put_litlen(&b, p[i]);
        /* Index every position the step covers, so later matches find it. */
        for (size_t k = 0; k < step; k++, i++) {
            if (i + MIN_MATCH <= len) {
                uint32_t h = hash3(p + i);
                prev[i % WINDOW] = head[h];
                head[h] = (int32_t)i;
            }
        }
    }
    put_litlen(&b, 256); /* end of block */
    flush_bits(&b);
    free(head);
    free(prev);
    put_be32(out, png_adler32(1, data, len));
    return buf_error(out);
}

int zlib_store(const void *data, size_t len, struct gw_buf *out)
{
    const uint8_t *p = data;
    put_zlib_header(out);
    size_t off = 0;
    do {
        size_t n = len - off < 65535 ? len - off : 65535;
        bool last = off + n == len;
        /* BFINAL, BTYPE 00, padding to the byte, LEN, NLEN (RFC 1951 3.2.4). */
        uint8_t h[5] = {last ? 1 : 0, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n,
                        (uint8_t)(~n >> 8)};
        buf_append(out, h, 5);
        buf_append(out, p + off, n);
        off += n;
    } while (off < len);
    put_be32(out, png_adler32(1, data, len));
    return buf_error(out);
}

/* Append a chunk: length, type, data, CRC of type and data. */
static void put_chunk(struct gw_buf *out, const char type[4], const void *data, size_t len)
{
    put_be32(out, (uint32_t)len);
    size_t start = out->len;
    buf_append(out, type, 4);
    buf_append(out, data, len);
    if (!buf_error(out))
        put_be32(out, png_crc32(0, out->p + start, len + 4));
}

int png_encode_rgb(const uint8_t *rgb, int w, int h, struct gw_buf *out)
{
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535)
        return -EINVAL;
    size_t stride = (size_t)w * 3;
    size_t rawlen = (stride + 1) * (size_t)h;
    uint8_t *raw = malloc(rawlen);
    if (!raw)
        return -ENOMEM;
    /* Filter type 0 (none) on every row: a chart is flat colour, which the
     * LZ77 matches (against the row above, too) already shrink well. */
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * (stride + 1)] = 0;
        memcpy(raw + (size_t)y * (stride + 1) + 1, rgb + (size_t)y * stride, stride);
    }
    struct gw_buf z = {0};
    int err = zlib_compress(raw, rawlen, &z);
    free(raw);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24),
                        (uint8_t)(w >> 16),
                        (uint8_t)(w >> 8),
                        (uint8_t)w,
                        (uint8_t)(h >> 24),
                        (uint8_t)(h >> 16),
                        (uint8_t)(h >> 8),
                        (uint8_t)h,
                        8, /* bit depth */
                        2, /* colour type: RGB */
                        0,
                        0,
                        0 /* deflate, adaptive filtering, no interlace */};
    if (!err) {
        buf_append(out, "\x89PNG\r\n\x1a\n", 8);
        put_chunk(out, "IHDR", ihdr, sizeof ihdr);
        put_chunk(out, "IDAT", z.p, z.len);
        put_chunk(out, "IEND", NULL, 0);
        err = buf_error(out);
    }
    buf_free(&z);
    return err;
}
