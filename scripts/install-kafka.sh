#!/usr/bin/env bash
# Fetch Apache Kafka 3.9.1's broker jars from Maven Central into .local/kafka/libs (git-ignored).
# Idempotent: does nothing when the jars for the current infra/kafka/pom.xml are already there.
# Needs: java (17) and mvn on PATH. Usage: scripts/install-kafka.sh [libs-dir]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/infra/kafka/pom.xml"
LIBS="${1:-${KAFKA_LIBS_DIR:-$ROOT/.local/kafka/libs}}"
STAMP="$LIBS/.installed"

for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-kafka: '$tool' not found on PATH (apt-get install openjdk-17-jre-headless maven)" >&2; exit 1; }
done

want="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && ls "$LIBS"/kafka_2.13-*.jar >/dev/null 2>&1; then
  echo "install-kafka: jars already present in $LIBS"
  exit 0
fi

echo "install-kafka: fetching Kafka jars with Maven into $LIBS (first run downloads ~100 MB)"
# Download into a temporary folder and move it into place only when complete, so that an
# interrupted run never leaves a half-filled libs folder that looks installed.
TMP="$LIBS.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
mvn -q -B -f "$POM" -Dkafka.libs.dir="$TMP" dependency:copy-dependencies
ls "$TMP"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "install-kafka: Maven finished but no kafka_2.13 jar in $TMP" >&2; exit 1; }
rm -rf "$LIBS"
mkdir -p "$(dirname "$LIBS")"
mv "$TMP" "$LIBS"
echo "$want" > "$STAMP"
echo "install-kafka: installed $(ls "$LIBS"/*.jar | wc -l) jars into $LIBS"
