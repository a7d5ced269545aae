/* A small bitmap font compiled into the binary, for text in PNG output. */
#ifndef GPU_WATCH_FONT_H
#define GPU_WATCH_FONT_H

#include <stdint.h>

#define FONT_W    5 /* glyph width, pixels */
#define FONT_H    7 /* cap height, pixels (baseline below row 6) */
#define FONT_ROWS 9 /* rows per glyph, with descenders */
#define FONT_ADV  6 /* horizontal advance per character, pixels */

/* The FONT_ROWS rows of the character of Unicode code point cp: printable
 * ASCII, Latin-1 and Latin Extended-A (U+00A0 to U+017F); every other one
 * gets the same placeholder, a hollow box. Bit 4 of each row is the
 * leftmost pixel. Static data; never freed. */
const unsigned char *font_glyph(uint32_t cp);

#endif
