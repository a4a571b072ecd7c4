#!/usr/bin/env bash
# Runs aup's tests. The tests check our PDFs with independent tools (poppler's
# pdftotext and pdftoppm, qpdf, zbar, pypdf, pyHanko, headless Chromium) and make
# returns with real readers (MuPDF, Poppler/NSS, pdf.js, Ghostscript); whatever of those is missing
# is installed first, so this one command works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# zxing-cpp, the QR decoder ingest falls back on, is compiled from C++ source.
command -v cmake >/dev/null || need_apt+=(cmake)
command -v c++ >/dev/null || need_apt+=(g++)
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
command -v qpdf >/dev/null || need_apt+=(qpdf)
command -v zbarimg >/dev/null || need_apt+=(zbar-tools)
# The scan tests make CCITT G4 scans the way offices do: ImageMagick, then img2pdf.
convert -version 2>/dev/null | grep -q ImageMagick || need_apt+=(imagemagick)
command -v img2pdf >/dev/null || need_apt+=(img2pdf)
# Scans passed through an OCR tool (object streams, a text layer) must be read.
command -v ocrmypdf >/dev/null || need_apt+=(ocrmypdf)
# The status report's HTML is rendered headless to prove it loads without errors.
command -v chromium >/dev/null || need_apt+=(chromium)
# aup serve's pages are driven in that Chromium by its WebDriver (Selenium).
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# ...and over TLS with a certificate openssl makes, fetched by curl.
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
# Returns are made by the readers staff use: MuPDF's mutool.
command -v mutool >/dev/null || need_apt+=(mupdf-tools)
# Signatures are made the way Okular and LibreOffice make them: NSS's tools.
command -v certutil >/dev/null && command -v pk12util >/dev/null || need_apt+=(libnss3-tools)
# ...and as LibreOffice's "Sign Existing PDF" signs, driven through UNO; without
# its recommends (GStreamer plugins and the like), which signing does not need.
need_lean=()
command -v soffice >/dev/null || need_lean+=(libreoffice-draw)
/usr/bin/python3 -c "import uno" 2>/dev/null || need_lean+=(python3-uno)
# Signature images stamped onto a form as pdftk-java's multistamp stamps them.
command -v pdftk >/dev/null || need_apt+=(pdftk-java)
# Returns rewritten as "print to PDF" rewrites them: Ghostscript's pdfwrite.
command -v gs >/dev/null || need_apt+=(ghostscript)
# Returns saved by pdf.js (Firefox's viewer) are made under Node.js.
command -v node >/dev/null && command -v npm >/dev/null || need_apt+=(nodejs npm)
# A different name written on a scan is drawn with ImageMagick in DejaVu Sans.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Oblique.ttf ] || need_apt+=(fonts-dejavu-extra)
# Progress bars are checked on a pseudo-terminal made by util-linux's `script`.
command -v script >/dev/null || need_apt+=(bsdutils)
# Returns that arrive by e-mail are read from Dovecot (IMAP, and LMTP to deliver).
command -v dovecot >/dev/null && [ -e /usr/lib/dovecot/lmtp ] || need_apt+=(dovecot-imapd dovecot-lmtpd)
if [ ${#need_apt[@]} -gt 0 ]; then
  scripts/apt-install.sh "${need_apt[@]}"
fi
if [ ${#need_lean[@]} -gt 0 ]; then
  scripts/apt-install.sh --no-install-recommends "${need_lean[@]}"
fi

need_pip=()
python3 -c "import pypdf" 2>/dev/null || need_pip+=(pypdf)
python3 -c "import pyhanko" 2>/dev/null || need_pip+=(pyhanko)
command -v pyhanko >/dev/null || need_pip+=(pyhanko-cli)
python3 -c "import selenium" 2>/dev/null || need_pip+=(selenium)
# Returns filled and flattened ("baked") as PyMuPDF (MuPDF 1.2x) does.
python3 -c "import pymupdf" 2>/dev/null || need_pip+=(pymupdf)
# PDF/UA-1 and PDF/A-2a checkers (veraPDF is in no registry here): page-validation
# (profiles ua1, 2a) and pdfua (pikepdf-based, which the field checks use too).
python3 -c "import page" 2>/dev/null || need_pip+=(page-validation==0.11.0)
command -v pdfua >/dev/null || need_pip+=(pdfua==0.1.3)
# Mail is sent to a real SMTP server on loopback: aiosmtpd, delivering to a Maildir.
python3 -c "import aiosmtpd" 2>/dev/null || need_pip+=(aiosmtpd==1.4.6)
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "installing ${need_pip[*]}" >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${need_pip[@]}"
fi

# pdf.js itself, at the version tests/js/package-lock.json pins, with the
# canvas package it needs under Node.js.
# axe-core (the accessibility rules the signing page is checked against), too.
pinned=$(sed -n 's/.*"pdfjs-dist": "\(.*\)".*/\1/p' tests/js/package.json)
axe=$(sed -n 's/.*"axe-core": "\(.*\)".*/\1/p' tests/js/package.json)
if ! grep -qs "\"version\": \"$pinned\"" tests/js/node_modules/pdfjs-dist/package.json ||
   ! grep -qs "\"version\": \"$axe\"" tests/js/node_modules/axe-core/package.json; then
  echo "installing pdfjs-dist and axe-core" >&2
  (cd tests/js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

cargo test --locked "$@"
