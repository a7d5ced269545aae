#!/usr/bin/env python3
"""Generate src/plot/font.c: the 5x7 bitmap font (cell 6x10, with descenders)
that the PNG renderer draws text with. The ASCII glyphs below are drawn by
hand for this project; Latin-1 (U+00A0-U+00FF) and Latin Extended-A
(U+0100-U+017F) come from the X11 "misc-fixed" 5x8 font (public domain),
read from Debian's xfonts-base (/usr/share/fonts/X11/misc/5x8.pcf.gz; only
this generator needs the package: the product keeps the glyphs it compiled
in). Every other character is drawn as one placeholder glyph, a hollow box.
Run: python3 tests/tools/gen_font.py > src/plot/font.c && make format"""
import gzip
import struct
import sys

PCF = "/usr/share/fonts/X11/misc/5x8.pcf.gz"

G = {}
def g(ch, *rows):
    G[ch] = rows

g(' ', '.....', '.....', '.....', '.....', '.....', '.....', '.....')
g('!', '..#..', '..#..', '..#..', '..#..', '..#..', '.....', '..#..')
g('"', '.#.#.', '.#.#.', '.#.#.', '.....', '.....', '.....', '.....')
g('#', '.#.#.', '.#.#.', '#####', '.#.#.', '#####', '.#.#.', '.#.#.')
g('$', '..#..', '.####', '#.#..', '.###.', '..#.#', '####.', '..#..')
g('%', '##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##')
g('&', '.##..', '#..#.', '#.#..', '.#...', '#.#.#', '#..#.', '.##.#')
g("'", '..#..', '..#..', '..#..', '.....', '.....', '.....', '.....')
g('(', '...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.')
g(')', '.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...')
g('*', '.....', '..#..', '#.#.#', '.###.', '#.#.#', '..#..', '.....')
g('+', '.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....')
g(',', '.....', '.....', '.....', '.....', '.##..', '..#..', '.#...')
g('-', '.....', '.....', '.....', '#####', '.....', '.....', '.....')
g('.', '.....', '.....', '.....', '.....', '.....', '.##..', '.##..')
g('/', '.....', '....#', '...#.', '..#..', '.#...', '#....', '.....')
g('0', '.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.')
g('1', '..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.')
g('2', '.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####')
g('3', '#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.')
g('4', '...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.')
g('5', '#####', '#....', '####.', '....#', '....#', '#...#', '.###.')
g('6', '..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.')
g('7', '#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...')
g('8', '.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.')
g('9', '.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..')
g(':', '.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....')
g(';', '.....', '.##..', '.##..', '.....', '.##..', '..#..', '.#...')
g('<', '...#.', '..#..', '.#...', '#....', '.#...', '..#..', '...#.')
g('=', '.....', '.....', '#####', '.....', '#####', '.....', '.....')
g('>', '.#...', '..#..', '...#.', '....#', '...#.', '..#..', '.#...')
g('?', '.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..')
g('@', '.###.', '#...#', '....#', '.##.#', '#.#.#', '#.#.#', '.###.')
g('A', '.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#')
g('B', '####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.')
g('C', '.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.')
g('D', '###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..')
g('E', '#####', '#....', '#....', '####.', '#....', '#....', '#####')
g('F', '#####', '#....', '#....', '####.', '#....', '#....', '#....')
g('G', '.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####')
g('H', '#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#')
g('I', '.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.')
g('J', '..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..')
g('K', '#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#')
g('L', '#....', '#....', '#....', '#....', '#....', '#....', '#####')
g('M', '#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#')
g('N', '#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#')
g('O', '.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.')
g('P', '####.', '#...#', '#...#', '####.', '#....', '#....', '#....')
g('Q', '.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#')
g('R', '####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#')
g('S', '.####', '#....', '#....', '.###.', '....#', '....#', '####.')
g('T', '#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..')
g('U', '#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.')
g('V', '#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..')
g('W', '#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.')
g('X', '#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#')
g('Y', '#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..')
g('Z', '#####', '....#', '...#.', '..#..', '.#...', '#....', '#####')
g('[', '.###.', '.#...', '.#...', '.#...', '.#...', '.#...', '.###.')
g('\\', '.....', '#....', '.#...', '..#..', '...#.', '....#', '.....')
g(']', '.###.', '...#.', '...#.', '...#.', '...#.', '...#.', '.###.')
g('^', '..#..', '.#.#.', '#...#', '.....', '.....', '.....', '.....')
g('_', '.....', '.....', '.....', '.....', '.....', '.....', '#####')
g('`', '.#...', '..#..', '...#.', '.....', '.....', '.....', '.....')
g('a', '.....', '.....', '.###.', '....#', '.####', '#...#', '.####')
g('b', '#....', '#....', '#.##.', '##..#', '#...#', '#...#', '####.')
g('c', '.....', '.....', '.###.', '#....', '#....', '#...#', '.###.')
g('d', '....#', '....#', '.##.#', '#..##', '#...#', '#...#', '.####')
g('e', '.....', '.....', '.###.', '#...#', '#####', '#....', '.###.')
g('f', '..##.', '.#..#', '.#...', '###..', '.#...', '.#...', '.#...')
g('g', '.....', '.....', '.####', '#...#', '#...#', '.####', '....#', '#...#', '.###.')
g('h', '#....', '#....', '#.##.', '##..#', '#...#', '#...#', '#...#')
g('i', '..#..', '.....', '.##..', '..#..', '..#..', '..#..', '.###.')
g('j', '...#.', '.....', '..##.', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..')
g('k', '#....', '#....', '#..#.', '#.#..', '##...', '#.#..', '#..#.')
g('l', '.##..', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.')
g('m', '.....', '.....', '##.#.', '#.#.#', '#.#.#', '#...#', '#...#')
g('n', '.....', '.....', '#.##.', '##..#', '#...#', '#...#', '#...#')
g('o', '.....', '.....', '.###.', '#...#', '#...#', '#...#', '.###.')
g('p', '.....', '.....', '####.', '#...#', '#...#', '####.', '#....', '#....', '#....')
g('q', '.....', '.....', '.####', '#...#', '#...#', '.####', '....#', '....#', '....#')
g('r', '.....', '.....', '#.##.', '##..#', '#....', '#....', '#....')
g('s', '.....', '.....', '.####', '#....', '.###.', '....#', '####.')
g('t', '.#...', '.#...', '###..', '.#...', '.#...', '.#..#', '..##.')
g('u', '.....', '.....', '#...#', '#...#', '#...#', '#..##', '.##.#')
g('v', '.....', '.....', '#...#', '#...#', '#...#', '.#.#.', '..#..')
g('w', '.....', '.....', '#...#', '#...#', '#.#.#', '#.#.#', '.#.#.')
g('x', '.....', '.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#')
g('y', '.....', '.....', '#...#', '#...#', '#...#', '.####', '....#', '#...#', '.###.')
g('z', '.....', '.....', '#####', '...#.', '..#..', '.#...', '#####')
g('{', '...#.', '..#..', '..#..', '.#...', '..#..', '..#..', '...#.')
g('|', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..')
g('}', '.#...', '..#..', '..#..', '...#.', '..#..', '..#..', '.#...')
g('~', '.....', '.....', '.#...', '#.#.#', '...#.', '.....', '.....')

ROWS = 9
FIRST_LATIN, LAST_LATIN = 0xA0, 0x17F


def read_pcf(path):
    """{code point: (rows above baseline..., rows below) as bit strings} of
    a PCF font: the metrics, bitmaps and encodings tables (X11 PCF format)."""
    data = gzip.open(path).read()
    assert data[:4] == b"\x01fcp", "not a PCF font"
    ntab, = struct.unpack_from("<i", data, 4)
    tables = {}
    for i in range(ntab):
        typ, fmt, size, off = struct.unpack_from("<iiii", data, 8 + 16 * i)
        tables[typ] = off

    def header(typ):
        off = tables[typ]
        fmt, = struct.unpack_from("<i", data, off)
        return off + 4, fmt, ">" if fmt & 4 else "<"

    # Metrics (type 4): per glyph left and right bearing, ascent, descent.
    off, fmt, e = header(1 << 2)
    metrics = []
    if fmt & 0x100:  # compressed: bytes biased by 0x80
        n, = struct.unpack_from(e + "h", data, off)
        for k in range(n):
            lb, rb, w, a, d = (b - 0x80 for b in data[off + 2 + 5 * k:off + 7 + 5 * k])
            metrics.append((lb, rb, a, d))
    else:
        n, = struct.unpack_from(e + "i", data, off)
        for k in range(n):
            lb, rb, w, a, d, _ = struct.unpack_from(e + "hhhhhH", data, off + 4 + 12 * k)
            metrics.append((lb, rb, a, d))
    # Bitmaps (type 8): rows padded to 1 << (fmt & 3) bytes, MSB first when fmt & 8.
    off, fmt, e = header(1 << 3)
    n, = struct.unpack_from(e + "i", data, off)
    offsets = struct.unpack_from(e + "%di" % n, data, off + 4)
    sizes = struct.unpack_from(e + "4i", data, off + 4 + 4 * n)
    base = off + 4 + 4 * n + 16
    pad = 1 << (fmt & 3)
    msb_bit = bool(fmt & 8)
    # Encodings (type 32): glyph index per (byte1, byte2); 0xffff none.
    eoff, efmt, ee = header(1 << 5)
    min2, max2, min1, max1, _ = struct.unpack_from(ee + "5h", data, eoff)
    glyphs = {}
    for cp in range(0x20, 0x180):
        b1, b2 = cp >> 8, cp & 0xFF
        if not (min1 <= b1 <= max1 and min2 <= b2 <= max2):
            continue
        k = (b1 - min1) * (max2 - min2 + 1) + (b2 - min2)
        gi, = struct.unpack_from(ee + "H", data, eoff + 10 + 2 * k)
        if gi == 0xFFFF:
            continue
        lb, rb, a, d = metrics[gi]
        width = rb - lb
        rowbytes = ((width + 7) // 8 + pad - 1) // pad * pad
        rows = []
        for r in range(a + d):
            bits = ""
            for c in range(width):
                byte = data[base + offsets[gi] + r * rowbytes + c // 8]
                bit = (byte >> (7 - c % 8)) & 1 if msb_bit else (byte >> (c % 8)) & 1
                bits += "#" if bit else "."
            # Place in the 5-column cell by the left bearing.
            rows.append(("." * lb + bits + ".....")[:5])
        glyphs[cp] = (a, rows)
    return glyphs


def cell(ascent, rows):
    """Rows of a misc-fixed glyph in our cell: the baseline below row 6."""
    out = ["....."] * ROWS
    for r, bits in enumerate(rows):
        y = 7 - ascent + r
        if 0 <= y < ROWS:
            out[y] = bits
    return out


PLACEHOLDER = ['#####', '#...#', '#...#', '#...#', '#...#', '#...#', '#####']
fixed = read_pcf(PCF)
missing = [cp for cp in range(FIRST_LATIN, LAST_LATIN + 1) if cp not in fixed]
if missing:
    sys.exit("gen_font: %s lacks %s" % (PCF, ", ".join("U+%04X" % c for c in missing)))


def row_values(rows):
    rows = list(rows) + ['.....'] * (ROWS - len(rows))
    return [int(r.replace('#', '1').replace('.', '0'), 2) for r in rows]


out = []
out.append("/* The bitmap font of the PNG renderer: 5x7 glyphs (descenders to row")
out.append(" * 8). Printable ASCII drawn for this project; Latin-1 and Latin")
out.append(" * Extended-A (U+00A0-U+017F) from the X11 misc-fixed 5x8 font (public")
out.append(" * domain); one placeholder, a hollow box, for every other character.")
out.append(" * Generated by tests/tools/gen_font.py; edit the glyphs there, not here. */")
out.append('#include "gpu_watch/font.h"')
out.append("")
out.append("/* Row r of glyph c - 32: bit 4 is the leftmost pixel. */")
out.append("static const unsigned char glyphs[95][FONT_ROWS] = {")
for c in range(32, 127):
    ch = chr(c)
    rows = list(G[ch])
    assert all(len(r) == 5 for r in rows), ch
    assert len(rows) in (7, 9), ch
    vals = row_values(rows)
    name = {'\\': 'backslash', "'": 'quote'}.get(ch, ch)
    out.append("    {%s}, /* %s */" % (", ".join("0x%02x" % v for v in vals), name if ch != '*' else 'star'))
out.append("};")
out.append("")
out.append("/* U+00A0 to U+017F, from misc-fixed 5x8. */")
out.append("static const unsigned char latin[%d][FONT_ROWS] = {" % (LAST_LATIN - FIRST_LATIN + 1))
for cp in range(FIRST_LATIN, LAST_LATIN + 1):
    a, rows = fixed[cp]
    vals = row_values(cell(a, rows))
    out.append("    {%s}, /* U+%04X */" % (", ".join("0x%02x" % v for v in vals), cp))
out.append("};")
out.append("")
out.append("/* Every other character: a hollow box, never confused with a '?'. */")
out.append("static const unsigned char placeholder[FONT_ROWS] = {%s};"
           % ", ".join("0x%02x" % v for v in row_values(PLACEHOLDER)))
out.append("")
out.append("const unsigned char *font_glyph(uint32_t cp)")
out.append("{")
out.append("    if (cp >= 32 && cp <= 126)")
out.append("        return glyphs[cp - 32];")
out.append("    if (cp >= 0x%X && cp <= 0x%X)" % (FIRST_LATIN, LAST_LATIN))
out.append("        return latin[cp - 0x%X];" % FIRST_LATIN)
out.append("    return placeholder;")
out.append("}")
print("\n".join(out))
