// HL7 v2 text escaping with the standard encoding characters (|^~\&). Every delimiter, line break and
// control byte in free text is written as an escape sequence, so hostile report text cannot open a new
// field, component or segment, nor close the MLLP frame (0x0B / 0x1C are control bytes too).
const namedEscapes: Record<string, string> = {
  "\\": "\\E\\",
  "|": "\\F\\",
  "^": "\\S\\",
  "&": "\\T\\",
  "~": "\\R\\",
};

export function escapeHl7(text: string): string {
  let out = "";
  for (const char of text) {
    const named = namedEscapes[char];
    if (named !== undefined) {
      out += named;
      continue;
    }
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) {
      out += `\\X${code.toString(16).toUpperCase().padStart(2, "0")}\\`;
      continue;
    }
    out += char;
  }
  return out;
}

const namedUnescapes: Record<string, string> = { E: "\\", F: "|", S: "^", T: "&", R: "~" };

/** Inverse of escapeHl7 (for tests and for reading ACKs); unknown escapes are kept verbatim. */
export function unescapeHl7(text: string): string {
  return text.replace(/\\([EFSTR]|X[0-9A-Fa-f]{2,})\\/g, (whole, body: string) => {
    const named = namedUnescapes[body];
    if (named !== undefined) return named;
    if (body.startsWith("X")) {
      const hex = body.slice(1);
      let decoded = "";
      for (let i = 0; i + 1 < hex.length; i += 2) decoded += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
      return decoded;
    }
    return whole;
  });
}
