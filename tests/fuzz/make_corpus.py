#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

Seeds are real memcached traffic (requests for the parser and the Connection,
replies of memcached 1.6 for the reply parser), each behind the schedule byte the
targets read first (0: one read; others: SplitSchedule sizes), and for the
Connection a configuration byte; split-value manifests (protocol/split_manifest.h)
behind their key's length and key, checksummed by the system's libxxhash. Run it
again after changing the seeds; the files are committed so CI needs no Python.
"""
import ctypes
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\xff\xfe\xfd"  # connection_fuzz.cc kStreamSeparator

REQUESTS = {
    "set_get": b"set a 5 0 3\r\nabc\r\nget a\r\ngets a b\r\n",
    "storage": b"add k 0 0 1\r\nx\r\nreplace k 1 0 1\r\ny\r\nappend k 0 0 2\r\nzz\r\n"
               b"prepend k 0 0 1\r\nw\r\ncas k 0 0 1 1\r\nq\r\n",
    "noreply": b"set k 0 0 1 noreply\r\na\r\ndelete k noreply\r\nincr n 1 noreply\r\nget k\r\n",
    "arith": b"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n 18446744073709551615\r\n",
    "touch_gat": b"set t 0 100 1\r\nt\r\ntouch t 10\r\ngat 0 t\r\ngats 5 t u\r\n",
    "misc": b"version\r\nverbosity 1\r\nflush_all\r\nflush_all 10 noreply\r\nstats\r\n"
            b"stats items\r\nmn\r\nquit\r\n",
    "meta": b"ms m 2 T0 F5\r\nhi\r\nmg m v f t c k s\r\nmg m k v q\r\nma n N0 J13 D2\r\n"
            b"md m q\r\nmn\r\nme m\r\nmg bWs= b v\r\n",
    "meta_modes": b"ms m 1 MA\r\nx\r\nms m 1 MP\r\ny\r\nms m 1 I\r\nz\r\nmg m v N30 R10\r\n",
    "errors": b"bogus\r\nset k 0 0\r\nset k 0 0 -1\r\nget\r\nset k 0 0 1\r\nabc\r\n"
              b"incr k x\r\n\r\nGET a\r\n",
    "bare_lf": b"set a 0 0 1\nx\r\nget a\nversion\n",
    "long_key": b"get " + b"k" * 251 + b"\r\nset " + b"k" * 250 + b" 0 0 1\r\nx\r\n",
    "long_get": b"get " + b" ".join(b"key%d" % i for i in range(600)) + b"\r\n",
    "too_large": b"set big 0 0 20000\r\n" + b"v" * 20000 + b"\r\nget big\r\n",
    "chain": b"set c 0 0 5000\r\n" + (bytes(range(256)) * 20)[:5000] + b"\r\nget c c\r\n",
    "overlong_line": b"x" * 2100 + b"\r\nversion\r\n",
    "nul": b"ver\x00sion\r\nget a\x00b\r\n",
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
}

REPLIES = {
    "values": b"VALUE a 5 3\r\nabc\r\nVALUE b 0 0\r\n\r\nEND\r\n",
    "gets": b"VALUE a 5 3 42\r\nabc\r\nEND\r\n",
    "storage": b"STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n",
    "numbers": b"15\r\n0\r\n18446744073709551615\r\n",
    "errors": b"ERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory storing object\r\n"
              b"ERROR Too many open connections\r\n",
    "meta": b"VA 2 f5 t-1 c7 kbQ== b s2\r\nhi\r\nHD\r\nEN\r\nNF\r\nNS\r\nEX\r\nMN\r\n"
            b"ME m exp=-1 la=1 cas=7 fetch=no cls=1 size=63\r\n",
    "stats": b"STAT pid 1\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.1\r\nEND\r\nRESET\r\n",
    "version": b"VERSION 1.6.18\r\n",
    "junk": b"HTTP/1.1 400 Bad Request\r\n\r\nVALUE k 0 notanumber\r\n",
    "big": b"VALUE big 0 3000\r\n" + b"\r\n" * 1500 + b"\r\nEND\r\n",
}


def write(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


for name, stream in REQUESTS.items():
    for schedule in (0, 3, 0x41):
        write("request_parser", "%s_%02x" % (name, schedule), bytes([schedule]) + stream)
    # One client, then the same with a second client sending the set_get stream.
    write("connection", "%s_one" % name, bytes([5, 0x00]) + stream)
    write("connection", "%s_two" % name, bytes([0x47, 0x5f]) + stream + SEP + REQUESTS["set_get"])
# Three clients fighting over a small pool with chains and a pool-wait limit.
write("connection", "pool_fight", bytes([0x12, 0xa6]) + REQUESTS["chain"] + SEP +
      REQUESTS["too_large"] + SEP + REQUESTS["chain"])
write("connection", "backlog", bytes([0x33, 0x02]) + REQUESTS["chain"] + b"get c\r\n" * 30)

for name, stream in REPLIES.items():
    for schedule in (0, 2, 0x43):
        write("reply_parser", "%s_%02x" % (name, schedule), bytes([schedule]) + stream)


# split_manifest.h's layout, checksummed through the libxxhash mcguard links.
xxhash = ctypes.CDLL("libxxhash.so.0")
xxhash.XXH3_64bits.restype = ctypes.c_uint64
xxhash.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
xxhash.XXH3_64bits_withSeed.restype = ctypes.c_uint64
xxhash.XXH3_64bits_withSeed.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]


def manifest(key, total, chunk_size, flags, generation):
    count = max(1, -(-total // chunk_size))
    body = b"\0MCGSPL\x01" + struct.pack("<B3xIQIIQ", 1, count, total, chunk_size, flags,
                                            generation)
    body += b"".join(struct.pack("<Q", 0x1000 + i) for i in range(count))
    seed = xxhash.XXH3_64bits(key, len(key))
    return bytes([len(key)]) + key + body + struct.pack(
        "<Q", xxhash.XXH3_64bits_withSeed(body, len(body), seed))


MANIFESTS = {
    "one_chunk": manifest(b"user:42", 1000, 1 << 20, 5, 0x0123456789abcdef),
    "three_chunks": manifest(b"big", 2 * 1000 + 1, 1000, 0, 7),
    "empty_value": manifest(b"e", 0, 1000, 0, 1),
    "binary_key": manifest(b"a b\r\n\0\xff", 5000, 4096, 0xffffffff, 0xffffffffffffffff),
}
for name, data in MANIFESTS.items():
    write("split_manifest", name, data)
