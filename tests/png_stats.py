#!/usr/bin/env python3
"""What a PNG screenshot holds, without imaging libraries: its size, and whether it is blank.

Prints one JSON object: width, height, colours (distinct colours on a sample grid) and ink (the
share of sampled pixels that differ from the most common one, the background). With --crop W OUT,
first writes the image's left W pixels to OUT (headless Chromium's windows are at least 500 px
wide: a 400 px page is shot in a 400 px frame of a wider window, then cropped) and describes that.
Usage: png_stats.py FILE.png [--crop W OUT.png]
"""
import json
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
    width, height, depth, colour, _, _, interlace = header
    channels = {2: 3, 6: 4, 0: 1, 4: 2}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise SystemExit(f"{path}: unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def write_png(path, width, height, channels, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    colour = {3: 2, 4: 6, 1: 0, 2: 4}[channels]
    raw = b"".join(b"\x00" + row for row in rows)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    open(path, "wb").write(data)


def main():
    width, height, channels, rows = read_png(sys.argv[1])
    if len(sys.argv) == 5 and sys.argv[2] == "--crop":
        width = min(width, int(sys.argv[3]))
        rows = [row[:width * channels] for row in rows]
        write_png(sys.argv[4], width, height, channels, rows)
    counts = {}
    for y in range(0, height, 4):
        for x in range(0, width, 4):
            pixel = rows[y][x * channels:(x + 1) * channels]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    background = max(counts.values())
    print(json.dumps({"width": width, "height": height, "colours": len(counts),
                      "ink": round((total - background) / total, 4)}))


main()
