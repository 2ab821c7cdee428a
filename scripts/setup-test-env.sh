#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine with the Rust toolchain:
# the independent validators (pyHanko, poppler's pdfsig/pdftotext/pdftoppm/pdffonts, openssl),
# SoftHSM2, qpdf, and the cargo tools. Idempotent and non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need_apt=()
for pkg in poppler-utils qpdf softhsm2 opensc libnss3-tools openssl hyperfine time curl \
           chromium fonts-liberation postgresql-client wrk sqlite3 ghostscript \
           libreoffice-writer-nogui systemd man-db groff-base; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Node.js for the browser test's driver: Debian's, unless a node with npm is already there.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  need_apt+=(nodejs npm)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Python peers, pinned: the versions the project's oracle tests were written against.
PY_PKGS=('pyhanko[opentype,image-support]==0.38.0' 'pyhanko-cli==0.6.0'
         'pyhanko-certvalidator==0.33.0' 'certomancer==0.16.0' 'fpdf2==2.8.9'
         'websockets==15.0.1' 'certomancer-csc-dummy==0.4.2' 'reportlab==5.1.0' 'img2pdf==0.6.3')
if ! python3 - >/dev/null 2>&1 <<'PY'
from importlib.metadata import version
want = {'pyhanko': '0.38.0', 'pyhanko-cli': '0.6.0', 'pyhanko-certvalidator': '0.33.0',
        'certomancer': '0.16.0', 'fpdf2': '2.8.9', 'websockets': '15.0.1',
        'certomancer-csc-dummy': '0.4.2', 'reportlab': '5.1.0', 'img2pdf': '0.6.3'}
raise SystemExit(any(version(k) != v for k, v in want.items()))
PY
then
  echo "setup: pip install ${PY_PKGS[*]}"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${PY_PKGS[@]}"
fi

# schemathesis: property-based tests of the REST API against a live kyso serve
# (scripts/schemathesis.sh), pinned, into the same Python as pyHanko.
if ! python3 - >/dev/null 2>&1 <<'PY'
from importlib.metadata import version
raise SystemExit(version('schemathesis') != '4.32.5')
PY
then
  echo "setup: pip install schemathesis==4.32.5"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'schemathesis==4.32.5'
fi

# The browser test's driver (playwright-core, pinned in tests/e2e/package-lock.json); it drives
# Debian's chromium installed above, never a downloaded browser.
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "setup: npm ci (tests/e2e)"
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# PostgreSQL: the store and API tests run on it as well as on SQLite, at
# postgres://postgres@127.0.0.1:5432/test (trust auth; KYSO_TEST_POSTGRES names another). Where no
# server answers, Debian's is installed (or the installed one started) by setup-postgres.sh,
# which scripts/prove-setup-postgres.sh proves on a fresh Debian.
bash "$(dirname "$0")/setup-postgres.sh"

# Cargo tools.
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked -q cargo-nextest
command -v cargo-deny >/dev/null 2>&1 || cargo install --locked -q cargo-deny
# The Debian package (scripts/package-test.sh).
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked -q cargo-deb
# Garage, the S3-compatible object store a province can run itself: the blob store's S3 backend
# and the several-node tests run against a real one. Built from the crates registry once (about
# 13 minutes on two cores) and kept in ~/.cache/kyso/garage; KYSO_GARAGE names another binary.
GARAGE_ROOT="${KYSO_CACHE:-$HOME/.cache/kyso}/garage"
if [ -z "${KYSO_GARAGE:-}" ] && [ ! -x "$GARAGE_ROOT/bin/garage" ]; then
  echo "setup: cargo install garage 2.5.0 into $GARAGE_ROOT (first time only)"
  started=$SECONDS
  cargo install --locked -q garage --version 2.5.0 --root "$GARAGE_ROOT"
  echo "setup: garage built in $((SECONDS - started)) s"
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
echo "setup: ok"
