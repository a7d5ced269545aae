/* plot: the chart as a self-contained SVG document. */
#include "gpu_watch/plot_draw.h"

#include <stdio.h>

struct svg {
    struct gw_buf *out;
    int err;
};

static void put(struct svg *s, const char *str)
{
    if (!s->err)
        s->err = buf_puts(s->out, str);
}

/* Text as XML character data: &, <, > and quotes escaped; control
 * characters (not allowed in XML 1.0) become spaces. */
static void put_esc(struct svg *s, const char *str)
{
    for (const unsigned char *p = (const unsigned char *)str; *p && !s->err; p++) {
        switch (*p) {
        case '&':
            put(s, "&amp;");
            break;
        case '<':
            put(s, "&lt;");
            break;
        case '>':
            put(s, "&gt;");
            break;
        case '"':
            put(s, "&quot;");
            break;
        default:
            s->err = buf_putc(s->out, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
        }
    }
}

static void svg_line(void *c, const double *xy, int n, uint32_t rgb, double width)
{
    struct svg *s = c;
    if (!s->err)
        s->err = buf_printf(
            s->out, "<polyline fill=\"none\" stroke=\"#%06x\" stroke-width=\"%g\" points=\"", rgb,
            width);
    for (int i = 0; i < n && !s->err; i++)
        s->err = buf_printf(s->out, "%s%.1f,%.1f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
    put(s, "\"/>\n");
}

static void svg_rect(void *c, double x, double y, double w, double h, uint32_t fill,
                     uint32_t stroke)
{
    struct svg *s = c;
    if (s->err)
        return;
    s->err = buf_printf(s->out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x, y,
                        w, h);
    if (!s->err && fill != CANVAS_NONE)
        s->err = buf_printf(s->out, " fill=\"#%06x\"", fill);
    else
        put(s, " fill=\"none\"");
    if (!s->err && stroke != CANVAS_NONE)
        s->err = buf_printf(s->out, " stroke=\"#%06x\"", stroke);
    put(s, "/>\n");
}

static void svg_text(void *c, double x, double y, const char *str, uint32_t rgb, int size,
                     int anchor)
{
    struct svg *s = c;
    static const char *const anchors[] = {"start", "middle", "end"};
    if (!s->err)
        s->err = buf_printf(s->out,
                            "<text x=\"%.1f\" y=\"%.1f\" fill=\"#%06x\" font-size=\"%d\" "
                            "text-anchor=\"%s\">",
                            x, y, rgb, size * 10, anchors[anchor < 0 || anchor > 2 ? 0 : anchor]);
    put_esc(s, str);
    put(s, "</text>\n");
}

static void svg_dot(void *c, double x, double y, double r, uint32_t rgb)
{
    struct svg *s = c;
    if (!s->err)
        s->err = buf_printf(s->out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\" fill=\"#%06x\"/>\n",
                            x, y, r, rgb);
}

static void svg_group(void *c, const char *title)
{
    struct svg *s = c;
    if (!title) {
        put(s, "</g>\n");
        return;
    }
    put(s, "<g class=\"series\"><title>");
    put_esc(s, title);
    put(s, "</title>\n");
}

int plot_svg(const struct plot *p, const char *title, const char *sub, int w, int h,
             struct gw_buf *out)
{
    static const struct canvas_ops ops = {svg_line, svg_rect, svg_text, svg_dot, svg_group};
    struct svg s = {.out = out};
    if (!s.err)
        s.err = buf_printf(out,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                           "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, "
                           "Consolas, monospace\" stroke-linejoin=\"round\" "
                           "stroke-linecap=\"round\">\n",
                           w, h, w, h);
    put(&s, "<title>");
    put_esc(&s, title);
    put(&s, "</title>\n");
    int rc = plot_draw(p, title, sub, w, h, &ops, &s);
    put(&s, "</svg>\n");
    return rc ? rc : s.err;
}
