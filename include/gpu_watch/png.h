/* A PNG encoder of our own: CRC-32, Adler-32, a zlib stream of deflate
 * blocks (fixed Huffman codes with LZ77 matches, RFC 1950/1951), and the
 * PNG chunks (RFC 2083). Pure: buffers in, buffers out. */
#ifndef GPU_WATCH_PNG_H
#define GPU_WATCH_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"

/* CRC-32 (ISO 3309, as PNG and zlib's crc32): continue from crc (0 to
 * start). png_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t png_crc32(uint32_t crc, const void *data, size_t len);

/* Adler-32 (RFC 1950): continue from a (1 to start).
 * png_adler32(1, "Wikipedia", 9) == 0x11E60398. */
uint32_t png_adler32(uint32_t a, const void *data, size_t len);

/* Append to out a zlib stream (2-byte header, fixed-Huffman deflate blocks,
 * Adler-32 trailer) holding the len bytes at data. 0 or -ENOMEM. */
int zlib_compress(const void *data, size_t len, struct gw_buf *out);

/* Append to out a zlib stream of stored (uncompressed) deflate blocks. 0 or
 * -ENOMEM. For tests and as a fallback. */
int zlib_store(const void *data, size_t len, struct gw_buf *out);

/* Append to out a whole PNG file of an 8-bit RGB image, rows top to bottom,
 * 3 bytes per pixel, stride w * 3. 0, -EINVAL (size) or -ENOMEM. */
int png_encode_rgb(const uint8_t *rgb, int w, int h, struct gw_buf *out);

#endif
