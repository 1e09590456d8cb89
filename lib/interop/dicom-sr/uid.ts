import { randomUUID } from "node:crypto";

// UIDs derived from a random UUID under the 2.25 root (ITU-T X.667 / PS3.5 B.2): no registered org root needed.
export function uuidToUid(uuid: string): string {
  return `2.25.${BigInt(`0x${uuid.replace(/-/g, "")}`).toString(10)}`;
}

export function newUid(): string {
  return uuidToUid(randomUUID());
}

// fixed, derived once from a UUID: identifies this implementation in the file meta information
export const IMPLEMENTATION_CLASS_UID = "2.25.246174377296066734437442298573358201089";
