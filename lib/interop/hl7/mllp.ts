// MLLP client: frames an HL7 v2 message (0x0B ... 0x1C 0x0D), waits for the ACK and reads MSA-1.
// AA is success; AE (application error) and transport failures are retried with exponential back-off;
// AR (rejected) is final: resending the same message would be rejected again.
import { connect } from "node:net";
import { AppError, UnavailableError, ValidationError } from "../../errors/index.ts";
import { parseHl7 } from "./oru.ts";

const START = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);
/** an ACK is a few hundred bytes; a peer streaming more is not speaking MLLP */
const MAX_ACK_BYTES = 64 * 1024;

export interface MllpTarget {
  host: string;
  port: number;
}

export interface MllpRetryPolicy {
  attempts: number;
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export const defaultMllpPolicy: MllpRetryPolicy = { attempts: 5, initialDelayMs: 500, factor: 2, maxDelayMs: 30_000, timeoutMs: 10_000 };

export type AckCode = "AA" | "AE" | "AR" | "CA" | "CE" | "CR";

export interface MllpAck {
  code: AckCode;
  text: string;
  raw: string;
}

export function frameMllp(message: string): Buffer {
  return Buffer.concat([Buffer.from([START]), Buffer.from(message, "utf8"), END]);
}

/** One exchange: connect, send, read one framed reply, close. */
export function exchangeMllp(target: MllpTarget, message: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, reply?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolve(reply ?? "");
    };
    const timer = setTimeout(() => finish(new UnavailableError(`MLLP peer did not acknowledge within ${timeoutMs} ms`)), timeoutMs);
    socket.on("connect", () => socket.write(frameMllp(message)));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > MAX_ACK_BYTES) return finish(new UnavailableError("MLLP reply too large"));
      const start = received.indexOf(START);
      const end = received.indexOf(END, start + 1);
      if (start >= 0 && end > start) finish(null, received.subarray(start + 1, end).toString("utf8"));
    });
    socket.on("error", (cause) => finish(new UnavailableError("MLLP connection failed", { cause })));
    socket.on("close", () => finish(new UnavailableError("MLLP peer closed the connection without an ACK")));
  });
}

export function readAck(reply: string): MllpAck {
  const msa = parseHl7(reply).find((segment) => segment.name === "MSA");
  const code = msa?.fields[1];
  if (code === undefined || !["AA", "AE", "AR", "CA", "CE", "CR"].includes(code)) {
    throw new UnavailableError("MLLP reply has no valid MSA acknowledgment code");
  }
  return { code: code as AckCode, text: msa?.fields[3] ?? "", raw: reply };
}

/** The receiver refused the message (AR/CR): retrying the same content cannot succeed. */
export class Hl7RejectedError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super("HL7_REJECTED", message, 502, false, { details });
  }
}

export interface SendResult {
  ack: MllpAck;
  attempts: number;
}

export async function sendMllp(
  target: MllpTarget,
  message: string,
  policy: MllpRetryPolicy = defaultMllpPolicy,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<SendResult> {
  if (policy.attempts < 1) throw new ValidationError("MLLP policy needs at least one attempt");
  let delay = policy.initialDelayMs;
  let lastError: AppError = new UnavailableError("MLLP send not attempted");
  for (let attempt = 1; attempt <= policy.attempts; attempt += 1) {
    try {
      const ack = readAck(await exchangeMllp(target, message, policy.timeoutMs));
      if (ack.code === "AA" || ack.code === "CA") return { ack, attempts: attempt };
      if (ack.code === "AR" || ack.code === "CR")
        throw new Hl7RejectedError(`HL7 receiver rejected the message: ${ack.text}`, { ack: ack.code, attempts: attempt });
      lastError = new UnavailableError(`HL7 receiver answered ${ack.code}: ${ack.text}`, { details: { ack: ack.code } });
    } catch (error) {
      if (error instanceof AppError && !error.retriable) throw error;
      lastError = error instanceof AppError ? error : new UnavailableError("MLLP send failed", { cause: error });
    }
    if (attempt < policy.attempts) {
      await sleep(delay);
      delay = Math.min(policy.maxDelayMs, delay * policy.factor);
    }
  }
  throw new UnavailableError(`MLLP send failed after ${policy.attempts} attempts: ${lastError.message}`, {
    cause: lastError,
    details: { attempts: policy.attempts },
  });
}
