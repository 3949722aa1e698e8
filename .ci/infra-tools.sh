#!/usr/bin/env bash
# Installs the infrastructure linters (cfn-lint, checkov) and checkov's Bicep parser (pycep-parser,
# which the infra tests read Bicep with), all from PyPI, into a virtualenv at .tools/infra-venv,
# pinned by infra/validation/requirements.txt. Idempotent: a stamp holding the requirements it was
# built from lets a second run return at once.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/infra-venv
requirements=infra/validation/requirements.txt
stamp=$venv/.requirements

# One installer at a time (CI's step and an `nx run-many -t lint` may both call this).
mkdir -p .tools
exec 9>.tools/infra-venv.lock
flock 9

if [ -x "$venv/bin/cfn-lint" ] && [ -x "$venv/bin/checkov" ] && cmp -s "$stamp" "$requirements"; then
  exit 0
fi

python=$(command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  # Debian splits venv/ensurepip out of python3; checkov needs Python >= 3.9.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  python=$(command -v python3)
fi

started=$(date +%s)
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
cp "$requirements" "$stamp"
echo "infra linters: $("$venv/bin/cfn-lint" --version), checkov $("$venv/bin/checkov" --version) ($(( $(date +%s) - started ))s)"
