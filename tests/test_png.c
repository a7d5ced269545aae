/* Unit tests of the PNG encoder: CRC-32 and Adler-32 against published
 * vectors, and deflate streams decoded by a real inflater (Python's zlib,
 * run as a child process: the binary links no zlib). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/font.h"
#include "gpu_watch/png.h"

static void test_crc32_vectors(void **state)
{
    /* The check value of CRC-32/ISO-HDLC (the "123456789" catalogue). */
    assert_int_equal(png_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(png_crc32(0, "", 0), 0);
    /* The CRC of a PNG IEND chunk's type, as in every PNG file. */
    assert_int_equal(png_crc32(0, "IEND", 4), 0xAE426082u);
    assert_int_equal(png_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    /* Continuing gives the same as one call. */
    assert_int_equal(png_crc32(png_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void test_adler32_vectors(void **state)
{
    assert_int_equal(png_adler32(1, "Wikipedia", 9), 0x11E60398u);
    assert_int_equal(png_adler32(1, "", 0), 1);
    assert_int_equal(png_adler32(1, "abc", 3), 0x024D0127u);
    /* Long input exercises the modulo batching: a million 0xff bytes
     * (value computed with Python's zlib.adler32). */
    size_t n = 1000000;
    unsigned char *b = malloc(n);
    assert_non_null(b);
    memset(b, 0xff, n);
    assert_int_equal(png_adler32(1, b, n), 0x3843E1BEu);
    free(b);
}

/* Inflate a zlib stream with Python's zlib and compare to want. */
static void check_inflates(const struct gw_buf *z, const void *want, size_t wantlen)
{
    char zpath[] = "/tmp/gw-zlib-XXXXXX";
    int fd = mkstemp(zpath);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, z->p, z->len), (ssize_t)z->len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys,zlib; "
             "sys.stdout.buffer.write(zlib.decompress(open(sys.argv[1],\"rb\").read()))' %s",
             zpath);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned char *got = malloc(wantlen + 16);
    assert_non_null(got);
    size_t n = fread(got, 1, wantlen + 16, p);
    int st = pclose(p);
    unlink(zpath);
    assert_int_equal(st, 0);
    assert_int_equal(n, wantlen);
    assert_memory_equal(got, want, wantlen);
    free(got);
}

/* Data like a chart's: long runs, repeats a row apart, and noise. */
static unsigned char *sample_data(size_t n)
{
    unsigned char *d = malloc(n);
    assert_non_null(d);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        if (i % 3000 < 2000)
            d[i] = 0xff;
        else if (i % 7 == 0)
            d[i] = (unsigned char)(x >> 24);
        else
            d[i] = (unsigned char)(i % 251);
    }
    return d;
}

static void test_deflate_fixed_inflates(void **state)
{
    size_t n = 300000;
    unsigned char *d = sample_data(n);
    struct gw_buf z = {0};
    assert_int_equal(zlib_compress(d, n, &z), 0);
    assert_true(z.len < n / 2); /* LZ77 matches found */
    check_inflates(&z, d, n);
    /* Edge cases: empty, one byte, a long run (max-length matches). */
    buf_clear(&z);
    assert_int_equal(zlib_compress("", 0, &z), 0);
    check_inflates(&z, "", 0);
    buf_clear(&z);
    assert_int_equal(zlib_compress("x", 1, &z), 0);
    check_inflates(&z, "x", 1);
    memset(d, 'a', n);
    buf_clear(&z);
    assert_int_equal(zlib_compress(d, n, &z), 0);
    assert_true(z.len < 3000);
    check_inflates(&z, d, n);
    buf_free(&z);
    free(d);
}

static void test_deflate_stored_inflates(void **state)
{
    size_t n = 200000; /* several 65535-byte blocks */
    unsigned char *d = sample_data(n);
    struct gw_buf z = {0};
    assert_int_equal(zlib_store(d, n, &z), 0);
    assert_int_equal(z.len, 2 + 4 * 5 + n + 4);
    check_inflates(&z, d, n);
    buf_clear(&z);
    assert_int_equal(zlib_store("", 0, &z), 0);
    check_inflates(&z, "", 0);
    buf_free(&z);
    free(d);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_png_layout(void **state)
{
    int w = 37, h = 11;
    unsigned char *rgb = malloc((size_t)w * h * 3);
    assert_non_null(rgb);
    for (int i = 0; i < w * h * 3; i++)
        rgb[i] = (unsigned char)(i * 7);
    struct gw_buf png = {0};
    assert_int_equal(png_encode_rgb(rgb, w, h, &png), 0);
    const unsigned char *p = (const unsigned char *)png.p;
    assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
    /* Walk the chunks, checking each CRC. */
    size_t off = 8;
    const char *want[] = {"IHDR", "IDAT", "IEND"};
    for (int k = 0; k < 3; k++) {
        uint32_t len = be32(p + off);
        assert_memory_equal(p + off + 4, want[k], 4);
        assert_int_equal(be32(p + off + 8 + len), png_crc32(0, p + off + 4, len + 4));
        if (k == 0) {
            assert_int_equal(len, 13);
            assert_int_equal(be32(p + off + 8), (uint32_t)w);
            assert_int_equal(be32(p + off + 12), (uint32_t)h);
            assert_int_equal(p[off + 16], 8);
            assert_int_equal(p[off + 17], 2);
        }
        if (k == 1) {
            /* The IDAT stream inflates to filter byte 0 + each row. */
            struct gw_buf z = {0};
            assert_int_equal(buf_append(&z, p + off + 8, len), 0);
            size_t rawlen = (size_t)(w * 3 + 1) * h;
            unsigned char *raw = malloc(rawlen);
            assert_non_null(raw);
            for (int y = 0; y < h; y++) {
                raw[y * (w * 3 + 1)] = 0;
                memcpy(raw + y * (w * 3 + 1) + 1, rgb + y * w * 3, (size_t)w * 3);
            }
            check_inflates(&z, raw, rawlen);
            free(raw);
            buf_free(&z);
        }
        off += 12 + len;
    }
    assert_int_equal(off, png.len);
    assert_int_equal(png_encode_rgb(rgb, 0, 5, &png), -EINVAL);
    buf_free(&png);
    free(rgb);
}

static void test_font(void **state)
{
    /* 'H': two uprights and a bar on row 3. */
    const unsigned char *g = font_glyph('H');
    assert_int_equal(g[0], 0x11);
    assert_int_equal(g[3], 0x1f);
    assert_int_equal(g[7], 0);
    /* Descenders reach row 8. */
    assert_int_not_equal(font_glyph('g')[8], 0);
    /* Every printable glyph but the spaces has ink, within 5 columns:
     * ASCII, and (issue 19 item 14) Latin-1 and Latin Extended-A. */
    const unsigned char *box = font_glyph(0x8BAD); /* a CJK character */
    for (uint32_t c = 33; c <= 0x17F; c++) {
        if (c >= 127 && c <= 0xA0)
            continue; /* DEL, C1 controls, no-break space */
        int ink = 0;
        for (int r = 0; r < FONT_ROWS; r++) {
            assert_int_equal(font_glyph(c)[r] & ~0x1f, 0);
            ink |= font_glyph(c)[r];
        }
        assert_int_not_equal(ink, 0);
        assert_ptr_not_equal(font_glyph(c), box);
    }
    /* Accented letters are not their base letter: the accent has ink on a
     * row where the letter has none. */
    assert_memory_not_equal(font_glyph(0xFC), font_glyph('u'), FONT_ROWS); /* u diaeresis */
    assert_int_equal(font_glyph('u')[1], 0);
    assert_int_not_equal(font_glyph(0xFC)[1], 0);
    assert_memory_not_equal(font_glyph(0x142), font_glyph('l'), FONT_ROWS); /* l stroke */
    /* The rest: one placeholder, a hollow box, not a '?'. */
    assert_ptr_equal(font_glyph(0x7EC3), box);
    assert_ptr_equal(font_glyph(0x20AC), box); /* euro sign: past Latin Extended-A */
    assert_ptr_equal(font_glyph(0xFFFD), box);
    assert_ptr_not_equal(box, font_glyph('?'));
    assert_int_equal(box[0], 0x1f);
    assert_int_equal(box[3], 0x11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_vectors),
        cmocka_unit_test(test_adler32_vectors),
        cmocka_unit_test(test_deflate_fixed_inflates),
        cmocka_unit_test(test_deflate_stored_inflates),
        cmocka_unit_test(test_png_layout),
        cmocka_unit_test(test_font),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
