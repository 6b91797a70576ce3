#!/usr/bin/env python3
"""Render a terminal capture with ANSI colours (tmux capture-pane -e -p) to a PNG."""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 16
FG, BG = (220, 223, 228), (24, 26, 31)
BASE = [(40, 42, 46), (224, 108, 117), (152, 195, 121), (229, 192, 123),
        (97, 175, 239), (198, 120, 221), (86, 182, 194), (220, 223, 228)]
BRIGHT = [(92, 99, 112), (240, 128, 128), (180, 230, 150), (250, 220, 150),
          (130, 200, 255), (220, 150, 240), (120, 220, 230), (255, 255, 255)]


def xterm256(n):
    if n < 8:
        return BASE[n]
    if n < 16:
        return BRIGHT[n - 8]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


def sgr(params, st):
    it = iter(params or [0])
    for p in it:
        if p == 0:
            st.update(fg=None, bg=None, bold=False, rev=False, ul=False)
        elif p == 1:
            st["bold"] = True
        elif p == 4:
            st["ul"] = True
        elif p == 7:
            st["rev"] = True
        elif p == 22:
            st["bold"] = False
        elif p == 24:
            st["ul"] = False
        elif p == 27:
            st["rev"] = False
        elif 30 <= p <= 37:
            st["fg"] = BASE[p - 30]
        elif 90 <= p <= 97:
            st["fg"] = BRIGHT[p - 90]
        elif 40 <= p <= 47:
            st["bg"] = BASE[p - 40]
        elif 100 <= p <= 107:
            st["bg"] = BRIGHT[p - 100]
        elif p == 39:
            st["fg"] = None
        elif p == 49:
            st["bg"] = None
        elif p in (38, 48):
            mode = next(it, None)
            col = xterm256(next(it, 0)) if mode == 5 else (next(it, 0), next(it, 0), next(it, 0))
            st["fg" if p == 38 else "bg"] = col


def main(src, dst):
    text = open(src, encoding="utf-8").read().rstrip("\n").split("\n")
    font, bold = ImageFont.truetype(FONT, SIZE), ImageFont.truetype(BOLD, SIZE)
    cw = int(font.getlength("M"))
    ch = SIZE + 4
    cols = 80
    img = Image.new("RGB", (cols * cw + 24, len(text) * ch + 24), BG)
    draw = ImageDraw.Draw(img)
    st = dict(fg=None, bg=None, bold=False, rev=False, ul=False)
    for row, line in enumerate(text):
        col = 0
        for tok in re.findall(r"\x1b\[[0-9;]*m|[^\x1b]", line):
            if tok.startswith("\x1b"):
                sgr([int(x) if x else 0 for x in tok[2:-1].split(";")], st)
                continue
            fg, bg = st["fg"] or FG, st["bg"] or BG
            if st["rev"]:
                fg, bg = bg, fg
            x, y = 12 + col * cw, 12 + row * ch
            draw.rectangle([x, y, x + cw - 1, y + ch - 1], fill=bg)
            if tok in "─│╭╮╰╯":
                draw_box(draw, tok, x, y, cw, ch, fg)
            else:
                draw.text((x, y + 2), tok, font=bold if st["bold"] else font, fill=fg)
            if st["ul"]:
                draw.line([x, y + ch - 2, x + cw, y + ch - 2], fill=fg)
            col += 1
    img.save(dst)


def draw_box(draw, c, x, y, w, h, fg):
    """Box lines drawn as lines, so that they join across rows whatever the font's metrics."""
    mx, my = x + w // 2, y + h // 2
    if c in "─╭╰":
        draw.line([mx if c != "─" else x, my, x + w, my], fill=fg)
    if c in "─╮╯":
        draw.line([x, my, mx if c != "─" else x + w, my], fill=fg)
    if c in "│╭╮":
        draw.line([mx, my if c != "│" else y, mx, y + h], fill=fg)
    if c in "│╰╯":
        draw.line([mx, y, mx, my if c != "│" else y + h], fill=fg)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
