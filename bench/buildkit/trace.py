#!/usr/bin/env python3
"""A logging proxy between a client and a daemon's unix socket.

usage: trace.py LISTEN TARGET   (runs until killed)

Prints one line per event, the time in ms since the epoch first:
  T CONN open | T CONN > METHOD PATH | T CONN < STATUS | T CONN close
bench/buildkit/run.sh puts it in front of pierd and dockerd for one
no-change rebuild through buildx each, to see where buildx's time goes:
its own start (before the first request), its probes (/_ping, /grpc for
ListWorkers and Info, /version, /info), the build (the last /session)
and what follows. Only HTTP/1 request lines are seen; what runs inside
an upgraded /grpc connection is not decoded.
"""
import asyncio
import re
import sys
import time

REQ = re.compile(rb"(GET|POST|HEAD|PUT|DELETE) (\S+) HTTP/1\.1")
conns = 0


def log(conn, *what):
    print("%.1f" % (time.time() * 1000), conn, *what, flush=True)


async def pipe(r, w, up, conn, state):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            if up:
                for m in REQ.finditer(data):
                    log(conn, ">", m.group(1).decode(), m.group(2).decode()[:100])
                    state["waiting"] = True
            elif state.get("waiting"):
                m = re.match(rb"HTTP/1\.1 (\d+)", data)
                log(conn, "<", m.group(1).decode() if m else "data")
                state["waiting"] = False
            w.write(data)
            await w.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        w.close()


async def handle(cr, cw):
    global conns
    conns += 1
    conn = conns
    log(conn, "open")
    try:
        sr, sw = await asyncio.open_unix_connection(sys.argv[2])
    except OSError:
        cw.close()
        return
    state = {}
    await asyncio.gather(pipe(cr, sw, True, conn, state), pipe(sr, cw, False, conn, state))
    log(conn, "close")


async def main():
    srv = await asyncio.start_unix_server(handle, sys.argv[1])
    async with srv:
        await srv.serve_forever()


asyncio.run(main())
