"""Word gaps on every line of PDFs, as poppler lays the text out.

For each line that pdftotext -bbox-layout finds, the gap between neighbouring
words is compared with a normal space of the line's font (Liberation Sans's
space is 0.278 em; the font size is read from the word boxes, whose height is
0.9385 em). Prints one line per gap wider than LIMIT spaces:
  <file> page <n>: <ratio>x "<word> | <next word>"
and last "widest <ratio>", so a test can show what it measured. A list marker
and its item are not a word gap. A line that ends inside "and/or" is printed as
  <file> page <n>: a line ends "<word>"
usage: word_gaps.py LIMIT FILE...
"""
import re
import subprocess
import sys
import html

SPACE_EM = 0.2778
HEIGHT_EM = 0.9385


def lines(pdf):
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    for page_no, page in enumerate(re.findall(r"<page .*?</page>", xml, re.S), 1):
        for line in re.findall(r"<line[^>]*>(.*?)</line>", page, re.S):
            words = [
                (float(a), float(b), float(c), float(d), html.unescape(w))
                for a, b, c, d, w in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                    line,
                )
            ]
            yield page_no, words


def main():
    limit = float(sys.argv[1])
    widest = 0.0
    for pdf in sys.argv[2:]:
        for page, words in lines(pdf):
            if words and re.search(r"\w/$", words[-1][4]):
                print(f'{pdf} page {page}: a line ends "{words[-1][4]}"')
            # A list's marker ("•", "12.") is set apart from its item on purpose.
            if words and re.fullmatch(r"•|\d+\.", words[0][4]):
                words = words[1:]
            for (x0, y0, x1, y1, w), (nx0, _, _, ny1, nw) in zip(words, words[1:]):
                size = (y1 - y0) / HEIGHT_EM
                ratio = (nx0 - x1) / (SPACE_EM * size)
                widest = max(widest, ratio)
                if ratio > limit:
                    print(f'{pdf} page {page}: {ratio:.1f}x "{w} | {nw}"')
    print(f"widest {widest:.2f}")


main()
