#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the hostile archive seeds of issue 16 into fuzz/corpus/:
#   tests/fuzz_replay/make_archive_seeds.py fuzz/corpus
# (needs GNU tar for the sparse seed). The options a fuzz target uses
# depend on the input size modulo 8 (see fuzz/archive_extract.h): some
# seeds are padded to pick them.
import tarfile, io, gzip, zipfile, struct, os, subprocess, sys
T = sys.argv[1] + '/targz_extract'; Z = sys.argv[1] + '/zip_extract'

def pad_to(b, residue):  # gzip ignores trailing zero bytes; size % 8 picks options
    while len(b) % 8 != residue:
        b += b'\0'
    return b

def tgz(entries, residue=None):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode='w', format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name); ti.mtime = 0
            if kind == 'f':
                ti.size = len(data); t.addfile(ti, io.BytesIO(data))
            elif kind == 'l':
                ti.type = tarfile.SYMTYPE; ti.linkname = data; t.addfile(ti)
            elif kind == 'd':
                ti.type = tarfile.DIRTYPE; t.addfile(ti)
    b = gzip.compress(bio.getvalue(), 9, mtime=0)
    return pad_to(b, residue) if residue is not None else b

def w(path, b):
    open(path, 'wb').write(b)

# issue 16.1: deep chains of implicit directories
w(T + '/deep_chains.tgz', tgz([("d%05d/" % i + "a/" * 2040 + "f", 'f', b'') for i in range(20)]))
w(T + '/deep_shared_prefix.tgz', tgz([("p/" + "a/" * 2040 + "f%03d" % i, 'f', b'x') for i in range(50)]))
# 16.2: data after the tar end marker, inside the gzip stream
bio = io.BytesIO()
with tarfile.open(fileobj=bio, mode='w', format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("small"); ti.size = 5; t.addfile(ti, io.BytesIO(b"hello"))
w(T + '/trailing_zeros.tgz', gzip.compress(bio.getvalue() + b'\0' * (5 << 20), 9, mtime=0))
# 16.4: a link replacing a file (size % 8 == 3: symlinks allowed, last wins)
w(T + '/link_replaces_file.tgz', tgz([("s", 'f', b"stale"), ("s", 'l', "t"), ("t", 'f', b"target")], 3))
w(T + '/file_replaces_link.tgz', tgz([("s", 'l', "t"), ("s", 'f', b"fresh"), ("t", 'f', b"target")], 3))
# 16.6: an empty gzip stream
w(T + '/empty_gzip.tgz', gzip.compress(b'', 9, mtime=0))
# 16.6: GNU sparse with a trailing hole
os.makedirs('/tmp/goio-seeds-sp', exist_ok=True)
subprocess.check_call("cd /tmp/goio-seeds-sp && rm -f sp && printf data > sp && truncate -s 1M sp && tar --sparse --format=gnu -cf ../goio-seeds-sp.tar sp", shell=True)
w(T + '/sparse_trailing_hole.tgz', gzip.compress(open('/tmp/goio-seeds-sp.tar','rb').read(), 9, mtime=0))
# 16.5: bad name after a good one
w(T + '/bad_name_second.tgz', tgz([("fine", 'f', b"x"), ("../evil", 'f', b"y")]))

def zbytes(files, level=zipfile.ZIP_DEFLATED):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w', level) as z:
        for n, d in files:
            zi = zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)); z.writestr(zi, d)
    return bytearray(bio.getvalue())

def central(b, i=0):
    at = -1
    for _ in range(i + 1):
        at = b.index(b'PK\1\2', at + 1)
    return at

# 16.3: central "../x.txt", local "safe.txt"
b = zbytes([("safe.txt", b"data")]); c = central(b); b[c+46:c+54] = b"../x.txt"; w(Z + '/name_mismatch.zip', b)
# 16.3: two central entries over one local header
b = zbytes([("a.txt", b"1"), ("b.txt", b"2")], zipfile.ZIP_STORED)
c0, c1 = central(b, 0), central(b, 1); b[c1+42:c1+46] = b[c0+42:c0+46]; b[c1+16:c1+20] = b[c0+16:c0+20]
w(Z + '/two_central_one_local.zip', b)
# 16.6: Deflate64 and an unknown method
for m, name in ((9, 'deflate64'), (99, 'method99')):
    b = zbytes([("ok", b"fine"), ("m", b"payload")], zipfile.ZIP_STORED)
    c = central(b, 1); lo = struct.unpack('<I', b[c+42:c+46])[0]
    b[lo+8:lo+10] = struct.pack('<H', m); b[c+10:c+12] = struct.pack('<H', m)
    w(Z + '/%s.zip' % name, b)
# a self-extractor stub before the zip
w(Z + '/sfx_stub.zip', b"#!/bin/sh\nexit 0\n" + bytes(zbytes([("name", b"x")])))
# 16.7: a bad CRC in an entry not wanted (size % 8 >= 4: the names filter is on)
b = zbytes([("other", b"0123456789"), ("a", b"w")], zipfile.ZIP_STORED)
i = b.index(b"0123456789"); b[i+3] = ord('X')
while len(b) % 8 != 4:  # grow the archive comment to pick the options
    b += b' '
    e = b.rindex(b'PK\5\6'); b[e+20:e+22] = struct.pack('<H', len(b) - e - 22)
w(Z + '/unwanted_bad_crc.zip', b)
