#!/usr/bin/env python3
"""Play the browser and the document server around `kyso agent`, as a VGCA-style document
system does: serve a PDF behind a one-time token and a bearer JWT, open a WebSocket to
ws://AGENT/<Operation> with the page's Origin, send the JSON request, and receive the signed
file the agent POSTs to the upload handler (multipart field `uploadfile`).

Prints one JSON line: the agent's reply, what the document server saw (whether the bearer
token and the session cookie came with each request), and where the uploaded file was saved.
Used by crates/kyso/tests/cli/agent.rs; needs the `websockets` package (scripts/setup-test-env.sh).
"""
import argparse
import json
import secrets
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def multipart_file(body: bytes, content_type: str, field: str):
    """The bytes of the multipart part named `field` (a minimal reader for the test)."""
    boundary = None
    for part in content_type.split(";"):
        part = part.strip()
        if part.startswith("boundary="):
            boundary = part[len("boundary="):].strip('"')
    if not boundary:
        return None
    delim = b"--" + boundary.encode()
    for chunk in body.split(delim):
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if f'name="{field}"'.encode() in head:
            return data[:-2] if data.endswith(b"\r\n") else data
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True, help="ws://127.0.0.1:PORT")
    ap.add_argument("--origin", required=True)
    ap.add_argument("--op", required=True)
    ap.add_argument("--pdf", help="the document the server hands out")
    ap.add_argument("--out", help="where to save the file the agent uploads")
    ap.add_argument("--doc-number")
    ap.add_argument("--issued-date")
    ap.add_argument("--jwt", default="jwt-" + secrets.token_hex(8))
    ap.add_argument("--session", default="sess-" + secrets.token_hex(8))
    ap.add_argument("--raw", help="send this text instead of the JSON request")
    ap.add_argument("--cafile", help="trust this CA for wss:// (the agent's ca.pem)")
    args = ap.parse_args()

    token = secrets.token_hex(12)
    pdf = open(args.pdf, "rb").read() if args.pdf else b""
    seen = {"downloads": 0, "uploads": 0, "auth_ok": True}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _authorized(self):
            ok = (self.headers.get("Authorization") == f"Bearer {args.jwt}"
                  and f"SessionId={args.session}" in (self.headers.get("Cookie") or "")
                  and self.path.endswith(f"token={token}"))
            seen["auth_ok"] &= ok
            return ok

        def do_GET(self):
            if not self._authorized():
                self.send_response(403)
                self.end_headers()
                return
            seen["downloads"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(pdf)))
            self.end_headers()
            self.wfile.write(pdf)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            if not self._authorized():
                self.send_response(403)
                self.end_headers()
                return
            data = multipart_file(body, self.headers.get("Content-Type", ""), "uploadfile")
            ok = data is not None and data.startswith(b"%PDF")
            if ok and args.out:
                with open(args.out, "wb") as f:
                    f.write(data)
                seen["uploads"] += 1
            reply = {"Status": ok, "Message": "ok" if ok else "no uploadfile",
                     "FileName": "signed.pdf", "FileServer": "/files/signed.pdf"}
            out = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    request = {
        "FileName": f"{base}/files/Cong-van-12.pdf?token={token}",
        "FileUploadHandler": f"{base}/files/upload?token={token}",
        "SessionId": args.session,
        "JWTToken": args.jwt,
    }
    if args.doc_number:
        request["DocNumber"] = args.doc_number
    if args.issued_date:
        request["IssuedDate"] = args.issued_date
    result = {}
    try:
        tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
        with connect(f"{args.agent}/{args.op}", origin=args.origin, open_timeout=10,
                     close_timeout=2, ssl=tls) as ws:
            ws.send(args.raw if args.raw is not None else json.dumps(request))
            result["reply"] = json.loads(ws.recv(timeout=300))
    except InvalidStatus as e:
        result["handshake_status"] = e.response.status_code
    result["server"] = seen
    result["uploaded"] = args.out if seen["uploads"] else None
    print(json.dumps(result, ensure_ascii=False))
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
