#!/usr/bin/env python3
"""certomancer-csc-dummy (a CSC v1 test server by pyHanko's author) on 127.0.0.1.

usage: csc_dummy_serve.py CONFIG.yml KEY_DIR PORT URL_PREFIX ROOT_OUT.pem

Serves the certomancer PKI in CONFIG.yml (keys in KEY_DIR, certificates' service URLs under
URL_PREFIX, as `certomancer.sh init` made them) as CSC credentials "ARCH/LABEL", requiring
hash pinning (SCAL 2). Writes the root certificate it signs under to ROOT_OUT.pem before it
starts listening. The upstream runner binds "localhost"; this one binds 127.0.0.1 only.
"""
import logging
import sys

from aiohttp import web
from certomancer import registry
from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams


def main():
    config_path, key_dir, port, prefix, root_out = sys.argv[1:6]
    # Access lines on stderr (the tests check which API version was called).
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    cfg = registry.CertomancerConfig.from_file(
        config_path, key_search_dir=key_dir, external_url_prefix=prefix
    )
    arch = cfg.get_pki_arch(registry.ArchLabel("kyso-demo"))
    root = arch.get_cert(registry.CertLabel("root"))
    from asn1crypto import pem

    with open(root_out, "wb") as f:
        f.write(pem.armor("CERTIFICATE", root.dump()))
    app = CSCWithCertomancer(
        cfg, service_params=DummyServiceParams(hash_pinning_required=True)
    )
    app.register_routes()
    web.run_app(app.app, host="127.0.0.1", port=int(port), print=None)


if __name__ == "__main__":
    main()
