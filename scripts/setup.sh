#!/usr/bin/env bash
# Installs everything the main command and the tests need on a fresh machine of this kind.
# Idempotent: each step checks before it installs. Usage: scripts/setup.sh [--with-browser] [--with-python]
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_python=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    --with-python) with_python=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

export ONNXRUNTIME_NODE_INSTALL=skip
log() { printf '[setup] %s\n' "$*"; }

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Node packages: npm ci when the lock changed or node_modules is missing.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi
# patches/ (fixes to dependencies that have no release with them, e.g. kafkajs): npm ci applies them (postinstall);
# this applies a patch added since, and does nothing when all are applied
npx patch-package >/dev/null

# Prisma client and GraphQL resolver types are generated, not committed.
if [ ! -f lib/db/generated/client.ts ] || [ prisma/schema.prisma -nt lib/db/generated/client.ts ]; then
  log "prisma generate"
  DATABASE_URL="${DATABASE_URL:-postgresql://unused@127.0.0.1:1/unused}" npx prisma generate >/dev/null
fi
if [ ! -f services/gateway/src/generated/resolvers.ts ] || [ schema.graphql -nt services/gateway/src/generated/resolvers.ts ]; then
  log "graphql codegen"
  npx graphql-codegen --config codegen.ts >/dev/null
fi

# Kafka 3.9 jars from Maven Central (Java 17 and Maven are on the machine).
bash scripts/install-kafka.sh

# The HL7 FHIR validator (HAPI) the FHIR tests check every resource with. Not fatal: without it those checks skip,
# each saying so, and everything else runs.
bash scripts/install-fhir-validator.sh || echo "setup: WARNING: the FHIR validator could not be installed; FHIR validation checks will be skipped" >&2

# DICOM tools the SR tests validate with (dciodvfy from dicom3tools, dsrdump from dcmtk) and the local PACS.
apt_install dicom3tools dcmtk orthanc orthanc-dicomweb

if [ "$with_python" -eq 1 ]; then
  bash scripts/setup-python.sh
fi

if [ "$with_browser" -eq 1 ]; then
  apt_install chromium
fi
log "ready"
