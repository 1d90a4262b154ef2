#!/usr/bin/env python3
"""Replays memcached_reference_test.cc's table against a real memcached.

Usage: verify_reference.py [--memcached /usr/bin/memcached]
Starts its own memcached on a free loopback port, sends every row's bytes on a fresh
connection and checks what the table claims: the exact error reply (then, after the
swallowed data, nothing but the "mn" sentinel's MN), a request answered without an
error line, a close, or a wait for more bytes. Stops that memcached by its pid.
Exits non-zero on any mismatch.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, 'memcached_reference_test.cc')
ROW = re.compile(r'\{("(?:[^"\\]|\\.)*")(?:sv)?, (k\w+), ("(?:[^"\\]|\\.)*"), (\d+)\},')
HUGE = 1 << 20  # data blocks above this are not sent; only the absence of an error is checked


def c_unescape(literal):
    s = literal[1:-1]
    out = bytearray()
    i = 0
    simple = {'r': 13, 'n': 10, 't': 9, 'v': 11, 'f': 12, '\\': 92, '"': 34, "'": 39}
    while i < len(s):
        ch = s[i]
        if ch != '\\':
            out += ch.encode('latin1')
            i += 1
            continue
        nxt = s[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt in '01234567':
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in '01234567':
                j += 1
            out.append(int(s[i + 1:j], 8))
            i = j
        else:
            raise ValueError('unsupported escape in ' + literal)
    return bytes(out)


def expand(pattern):
    return re.sub(rb'\{(\d+)\*([^}]*)\}', lambda m: m.group(2) * int(m.group(1)), pattern)


def rows():
    text = open(TABLE).read()
    body = text[text.index('// BEGIN REFERENCE'):text.index('// END REFERENCE')]
    for m in ROW.finditer(body):
        yield expand(c_unescape(m.group(1))), m.group(2), c_unescape(m.group(3)), int(m.group(4))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_until(sock, done, timeout):
    """Reads until done(buf) or EOF or timeout; returns (bytes, closed)."""
    buf = b''
    deadline = time.time() + timeout
    while time.time() < deadline and not done(buf):
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return buf, True
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


ERROR_PREFIXES = (b'ERROR', b'CLIENT_ERROR', b'SERVER_ERROR')


def check(port, data, outcome, reply, extra):
    sock = socket.create_connection(('127.0.0.1', port))
    try:
        if outcome == 'kClose':
            sock.sendall(data)
            got, closed = read_until(sock, lambda b: False, 2.0)
            return closed and got == b'', 'got %r closed=%s' % (got, closed)
        if outcome == 'kNeedMore':
            sock.sendall(data)
            got, closed = read_until(sock, lambda b: False, 0.3)
            return not closed and got == b'', 'got %r closed=%s' % (got, closed)
        if extra > HUGE:
            sock.sendall(data)
            got, closed = read_until(sock, lambda b: False, 0.3)
            return not closed and got == b'', 'got %r closed=%s' % (got, closed)
        block = b'1' * (extra - 2) + b'\r\n' if extra else b''
        sock.sendall(data + block + b'mn\r\n')
        got, closed = read_until(sock, lambda b: b.endswith(b'MN\r\n'), 2.0)
        if closed or not got.endswith(b'MN\r\n'):
            return False, 'got %r closed=%s' % (got, closed)
        got = got[:-4]
        if outcome == 'kError':
            return got == reply, 'got %r' % got
        # kRequest: memcached accepted the header; no line of its answer is an error.
        bad = [line for line in got.split(b'\r\n') if line.startswith(ERROR_PREFIXES)]
        return not bad, 'got %r' % got
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--memcached', default='/usr/bin/memcached')
    args = parser.parse_args()
    port = free_port()
    # The admin features a proxy lacks are off, as mcguard answers them (protocol/admin.h).
    cmd = [args.memcached, '-U', '0', '-l', '127.0.0.1', '-p', str(port), '-m', '64', '-W',
           '-o', 'no_lru_crawler,no_lru_maintainer,no_slab_reassign,no_slab_automove']
    if os.geteuid() == 0:
        cmd += ['-u', 'nobody']
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 5
        while True:
            try:
                socket.create_connection(('127.0.0.1', port)).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        version = subprocess.run([args.memcached, '-V'], capture_output=True, text=True).stdout
        print('reference server:', version.strip())
        passed = failed = 0
        for data, outcome, reply, extra in rows():
            ok, detail = check(port, data, outcome, reply, extra)
            if ok:
                passed += 1
            else:
                failed += 1
                print('MISMATCH %s %r: %s' % (outcome, data[:100], detail))
        print('%d passed, %d failed' % (passed, failed))
        return 1 if failed else 0
    finally:
        server.terminate()
        server.wait()


if __name__ == '__main__':
    sys.exit(main())
