/* A small bitmap font compiled into the binary, for text in PNG output. */
#ifndef GPU_WATCH_FONT_H
#define GPU_WATCH_FONT_H

#define FONT_W    5 /* glyph width, pixels */
#define FONT_H    7 /* cap height, pixels (baseline below row 6) */
#define FONT_ROWS 9 /* rows per glyph, with descenders */
#define FONT_ADV  6 /* horizontal advance per character, pixels */

/* The FONT_ROWS rows of character c (printable ASCII; others give '?').
 * Bit 4 of each row is the leftmost pixel. Static data; never freed. */
const unsigned char *font_glyph(unsigned char c);

#endif
