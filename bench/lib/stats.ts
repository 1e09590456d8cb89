// Summary statistics for timings. Percentiles use the nearest-rank method on a sorted copy (no interpolation:
// with a few dozen samples an interpolated p95 would suggest a precision the data does not have).

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (xs: readonly number[]) => percentile(xs, 50);

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: how far apart the rounds were */
  relSpread: number;
  n: number;
  values: number[];
}

export function spread(xs: readonly number[]): Spread {
  const ok = xs.filter((x) => Number.isFinite(x));
  const m = median(ok);
  const min = Math.min(...ok);
  const max = Math.max(...ok);
  return {
    median: round(m, 4),
    min: round(min, 4),
    max: round(max, 4),
    relSpread: round((max - min) / m, 3),
    n: ok.length,
    values: ok.map((v) => round(v, 4)),
  };
}

export function round(v: number, digits = 1): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : NaN);

export interface Latency {
  p50: number;
  p95: number;
  n: number;
}

export const latency = (xs: readonly number[]): Latency => ({
  p50: round(percentile(xs, 50), 2),
  p95: round(percentile(xs, 95), 2),
  n: xs.length,
});

/** Runs `fn` and returns its wall time in ms with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}
