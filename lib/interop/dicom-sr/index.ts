export { type BuiltSr, buildGroundedSr, COMPREHENSIVE_SR, type SrFinding, type SrInput } from "./build.ts";
export { FINDING_CODES, findingCode, REGION_CODES, regionCode } from "./codes.ts";
export { newUid, uuidToUid } from "./uid.ts";
