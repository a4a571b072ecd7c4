"""The decode limit for `cargo bench --bench ingest`: libjpeg-turbo (through
Pillow, whose wheels bundle it) decoding a pile's JPEGs at full scale into
their own colour space, nothing else, on PROCESSES worker processes, the files
already in memory. Prints one line: the pages/s of the fastest of three runs
and the libjpeg-turbo version.
usage: turbo_decode.py DIR PROCESSES
"""
import glob
import io
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from PIL import Image, features

folder, processes = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(os.path.join(folder, "*.jpg")))
if not files:
    sys.exit(f"turbo_decode.py: no .jpg files in {folder}")


def decode(path_range):
    start, end = path_range
    jpegs = [open(f, "rb").read() for f in files[start:end]]
    began = time.perf_counter()
    for jpeg in jpegs:
        image = Image.open(io.BytesIO(jpeg))
        image.load()
    return time.perf_counter() - began


# Each process reads its share into memory, then decodes it: the time is the
# slowest share's decoding, the way the pile would finish.
shares = [
    (len(files) * i // processes, len(files) * (i + 1) // processes)
    for i in range(processes)
]
best = None
with ProcessPoolExecutor(processes) as pool:
    list(pool.map(decode, [(0, 1)] * processes))
    for _ in range(3):
        seconds = max(pool.map(decode, shares))
        best = seconds if best is None else min(best, seconds)
print(f"{len(files) / best:.1f} {features.version('libjpeg_turbo')}")
