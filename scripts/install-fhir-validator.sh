#!/usr/bin/env bash
# Fetch the HL7 FHIR validator (HAPI's hapi-fhir-validation 8.6.5 with the R4 core definitions) from Maven Central
# into .local/fhir-validator/libs and compile infra/fhir-validator/FhirValidate.java into .local/fhir-validator/classes.
# The FHIR tests validate every resource they read with it (test/helpers/fhir-validator.ts); they skip, saying
# so, when this has not run. Idempotent: does nothing when the stamp matches the pom and the Java source.
# Needs: java (17) and mvn on PATH. Usage: scripts/install-fhir-validator.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/infra/fhir-validator"
DEST="$ROOT/.local/fhir-validator"
STAMP="$DEST/.installed"

for tool in java javac mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-fhir-validator: '$tool' not found on PATH (apt-get install openjdk-17-jdk-headless maven)" >&2; exit 1; }
done

want="$(cat "$SRC/pom.xml" "$SRC/FhirValidate.java" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && [[ -f "$DEST/classes/FhirValidate.class" ]]; then
  echo "install-fhir-validator: already installed in $DEST"
  exit 0
fi

echo "install-fhir-validator: fetching the validator's jars with Maven into $DEST (first run downloads ~150 MB)"
# Build into a temporary folder and move it into place only when complete (an interrupted run leaves nothing
# that looks installed).
TMP="$DEST.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP/classes"
trap 'rm -rf "$TMP"' EXIT
mvn -q -B -f "$SRC/pom.xml" -Dfhir.libs.dir="$TMP/libs" dependency:copy-dependencies
ls "$TMP"/libs/hapi-fhir-validation-*.jar >/dev/null 2>&1 || { echo "install-fhir-validator: Maven finished but no hapi-fhir-validation jar" >&2; exit 1; }
javac -nowarn -cp "$TMP/libs/*" -d "$TMP/classes" "$SRC/FhirValidate.java"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP" "$DEST"
echo "$want" > "$STAMP"
echo "install-fhir-validator: installed $(ls "$DEST"/libs/*.jar | wc -l) jars and FhirValidate into $DEST"
