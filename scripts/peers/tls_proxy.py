#!/usr/bin/env python3
"""A TLS front for a plain-HTTP service on 127.0.0.1 (Python's ssl module, nothing of kyso's):
the tests use it to check `kyso sign --csc https://…` against a real TLS server.

usage: tls_proxy.py CERT.pem KEY.pem PORT BACKEND_PORT
"""
import asyncio
import ssl
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main():
    cert, key, port, backend = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    async def handle(client_r, client_w):
        try:
            back_r, back_w = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, back_w), pipe(back_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=ctx)
    async with server:
        await server.serve_forever()


asyncio.run(main())
