/**
 * Decoded report text → sections and sentences. The tokenizer is uncased, so the model writes the
 * headers as "findings:" / "impression:" (any case is accepted); a report without headers has no
 * sections and every sentence gets section null.
 */

export interface SplitSentence {
  text: string;
  section: "findings" | "impression" | null;
}

export interface SplitReport {
  findings: string | null;
  impression: string | null;
  sentences: SplitSentence[];
}

const HEADER = /\b(findings|impression)\s*:/gi;

/** Splits after . ! ? followed by whitespace (the decoder never puts a space before "."). */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && /[a-z0-9]/i.test(s));
}

export function splitReport(text: string): SplitReport {
  const headers = [...text.matchAll(HEADER)];
  if (headers.length === 0) {
    return { findings: null, impression: null, sentences: splitSentences(text).map((t) => ({ text: t, section: null })) };
  }
  const out: SplitReport = { findings: null, impression: null, sentences: [] };
  // Text before the first header (unusual) is kept as unsectioned sentences.
  for (const t of splitSentences(text.slice(0, headers[0]!.index))) out.sentences.push({ text: t, section: null });
  headers.forEach((h, i) => {
    const section = h[1]!.toLowerCase() as "findings" | "impression";
    const body = text.slice(h.index! + h[0].length, headers[i + 1]?.index ?? text.length).trim();
    out[section] = out[section] ? `${out[section]} ${body}` : body;
    for (const t of splitSentences(body)) out.sentences.push({ text: t, section });
  });
  return out;
}
