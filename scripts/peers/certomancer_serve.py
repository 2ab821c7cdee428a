#!/usr/bin/env python3
"""Serve the certomancer test PKI (tests/peers/certomancer.yml) on 127.0.0.1 only.

usage: certomancer_serve.py CONFIG KEY_ROOT PORT [--idle-exit SECONDS]

This is `certomancer animate` (certomancer 0.16's Animator behind werkzeug) with three changes:
  * the service URLs in certificates, CRLs and OCSP responses use http://127.0.0.1:PORT, the
    port it listens on (`animate` always listens on its --port but takes the URL prefix from
    the configuration);
  * OCSP over HTTP GET (RFC 6960 A.1: base64 of the DER request in the path) as well as POST
    (`animate` answers GET with 404; some clients try GET first);
  * --idle-exit SECONDS: exit after that long without a request, so a server started by a
    test run cannot outlive it for long (0, the default, serves until killed).
The web UI and the time-override feature are off.
"""
import argparse
import base64
import io
import os
import threading
import time
import urllib.parse

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import CertomancerConfig
from werkzeug.serving import run_simple


def main():
    # Drop inherited descriptors: a lock file held by whoever started us (certomancer.sh's
    # per-directory lock, a caller's `flock`) would otherwise stay locked as long as we serve.
    os.closerange(3, 1024)
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("key_root")
    ap.add_argument("port", type=int)
    ap.add_argument("--idle-exit", type=float, default=0)
    args = ap.parse_args()

    cfg = CertomancerConfig.from_file(
        args.config,
        key_search_dir=args.key_root,
        external_url_prefix=f"http://127.0.0.1:{args.port}",
    )
    app = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False, allow_time_override=False)
    last = [time.monotonic()]

    def wsgi(environ, start_response):
        last[0] = time.monotonic()
        # GET /<arch>/ocsp/<label>/<url-encoded base64 request>  ->  POST /<arch>/ocsp/<label>
        parts = environ.get("PATH_INFO", "").split("/")
        if environ["REQUEST_METHOD"] == "GET" and len(parts) >= 5 and parts[2] == "ocsp":
            try:
                body = base64.b64decode(urllib.parse.unquote("/".join(parts[4:])))
            except ValueError:
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"bad OCSP GET request\n"]
            environ.update(
                REQUEST_METHOD="POST",
                PATH_INFO="/".join(parts[:4]),
                CONTENT_LENGTH=str(len(body)),
                CONTENT_TYPE="application/ocsp-request",
            )
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    if args.idle_exit > 0:

        def watchdog():
            while True:
                time.sleep(min(args.idle_exit, 1.0))
                if time.monotonic() - last[0] > args.idle_exit:
                    os._exit(0)

        threading.Thread(target=watchdog, daemon=True).start()

    run_simple("127.0.0.1", args.port, wsgi, threaded=True)


if __name__ == "__main__":
    main()
