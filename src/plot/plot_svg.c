/* plot: the chart as a self-contained SVG document. */
#include "gpu_watch/plot_draw.h"
#include "gpu_watch/plot_svg.h"

#include <stdio.h>

/* The canvas is the output buffer itself: it keeps the first error. */

/* Text as XML character data: &, <, > and quotes escaped; control
 * characters (not allowed in XML 1.0) become spaces. */
static void put_esc(struct gw_buf *b, const char *str)
{
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        switch (*p) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        default:
            buf_putc(b, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
        }
    }
}

static void svg_line(void *c, const double *xy, int n, uint32_t rgb, double width, int dash)
{
    static const char *const dashes[PLOT_NDASH] = {[PLOT_DASH_DASHED] = "6 4",
                                                   [PLOT_DASH_DOTTED] = "1.5 3",
                                                   [PLOT_DASH_DASHDOT] = "7 3 1.5 3"};
    struct gw_buf *b = c;
    buf_printf(b, "<polyline fill=\"none\" stroke=\"#%06x\" stroke-width=\"%g\" ", rgb, width);
    if (dash > 0 && dash < PLOT_NDASH)
        buf_printf(b, "stroke-dasharray=\"%s\" ", dashes[dash]);
    buf_puts(b, "points=\"");
    for (int i = 0; i < n; i++)
        buf_printf(b, "%s%.1f,%.1f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
    buf_puts(b, "\"/>\n");
}

static void svg_rect(void *c, double x, double y, double w, double h, uint32_t fill,
                     uint32_t stroke)
{
    struct gw_buf *b = c;
    buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x, y, w, h);
    if (fill != CANVAS_NONE)
        buf_printf(b, " fill=\"#%06x\"", fill);
    else
        buf_puts(b, " fill=\"none\"");
    if (stroke != CANVAS_NONE)
        buf_printf(b, " stroke=\"#%06x\"", stroke);
    buf_puts(b, "/>\n");
}

static void svg_text(void *c, double x, double y, const char *str, uint32_t rgb, int size,
                     int anchor)
{
    struct gw_buf *b = c;
    static const char *const anchors[] = {"start", "middle", "end"};
    buf_printf(b,
               "<text x=\"%.1f\" y=\"%.1f\" fill=\"#%06x\" font-size=\"%d\" "
               "text-anchor=\"%s\">",
               x, y, rgb, size * 10, anchors[anchor < 0 || anchor > 2 ? 0 : anchor]);
    put_esc(b, str);
    buf_puts(b, "</text>\n");
}

static void svg_dot(void *c, double x, double y, double r, uint32_t rgb)
{
    buf_printf(c, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\" fill=\"#%06x\"/>\n", x, y, r, rgb);
}

static void svg_group(void *c, const char *title)
{
    struct gw_buf *b = c;
    if (!title) {
        buf_puts(b, "</g>\n");
        return;
    }
    buf_puts(b, "<g class=\"series\"><title>");
    put_esc(b, title);
    buf_puts(b, "</title>\n");
}

int plot_svg(const struct plot *p, const char *title, const char *sub, int w, int h,
             struct gw_buf *out)
{
    static const struct canvas_ops ops = {svg_line, svg_rect, svg_text, svg_dot, svg_group};
    buf_printf(out,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, "
               "Consolas, monospace\" stroke-linejoin=\"round\" "
               "stroke-linecap=\"round\">\n",
               w, h, w, h);
    buf_puts(out, "<title>");
    put_esc(out, title);
    buf_puts(out, "</title>\n");
    int rc = plot_draw(p, title, sub, w, h, &ops, out);
    buf_puts(out, "</svg>\n");
    return rc ? rc : buf_error(out);
}
