import { createHmac } from 'node:crypto';
import type { DataSet } from 'dicom-parser';
import { ImageError } from './errors.ts';
import { detectFormat } from './detect.ts';
import { parseDicomBytes } from './dicom/parse.ts';
import { TS } from './dicom/syntax.ts';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './limits.ts';
import type { DicomMetadata } from './types.ts';

/**
 * Attributes that identify a patient or the people and places around them: a subset of the
 * DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile, all of string VRs.
 * UIDs are handled separately (see deidentifyMetadata's remapUids).
 */
export const PHI_TAGS: ReadonlyArray<{ tag: string; name: string }> = [
  { tag: 'x00080020', name: 'StudyDate' },
  { tag: 'x00080021', name: 'SeriesDate' },
  { tag: 'x00080022', name: 'AcquisitionDate' },
  { tag: 'x00080023', name: 'ContentDate' },
  { tag: 'x00080030', name: 'StudyTime' },
  { tag: 'x00080031', name: 'SeriesTime' },
  { tag: 'x00080032', name: 'AcquisitionTime' },
  { tag: 'x00080033', name: 'ContentTime' },
  { tag: 'x00080050', name: 'AccessionNumber' },
  { tag: 'x00080080', name: 'InstitutionName' },
  { tag: 'x00080081', name: 'InstitutionAddress' },
  { tag: 'x00080090', name: 'ReferringPhysicianName' },
  { tag: 'x00080092', name: 'ReferringPhysicianAddress' },
  { tag: 'x00080094', name: 'ReferringPhysicianTelephoneNumbers' },
  { tag: 'x00081010', name: 'StationName' },
  { tag: 'x00081040', name: 'InstitutionalDepartmentName' },
  { tag: 'x00081048', name: 'PhysiciansOfRecord' },
  { tag: 'x00081050', name: 'PerformingPhysicianName' },
  { tag: 'x00081060', name: 'NameOfPhysiciansReadingStudy' },
  { tag: 'x00081070', name: 'OperatorsName' },
  { tag: 'x00100010', name: 'PatientName' },
  { tag: 'x00100020', name: 'PatientID' },
  { tag: 'x00100021', name: 'IssuerOfPatientID' },
  { tag: 'x00100030', name: 'PatientBirthDate' },
  { tag: 'x00100032', name: 'PatientBirthTime' },
  { tag: 'x00100040', name: 'PatientSex' },
  { tag: 'x00101000', name: 'OtherPatientIDs' },
  { tag: 'x00101001', name: 'OtherPatientNames' },
  { tag: 'x00101005', name: 'PatientBirthName' },
  { tag: 'x00101010', name: 'PatientAge' },
  { tag: 'x00101040', name: 'PatientAddress' },
  { tag: 'x00101060', name: 'PatientMotherBirthName' },
  { tag: 'x00101090', name: 'MedicalRecordLocator' },
  { tag: 'x00102154', name: 'PatientTelephoneNumbers' },
  { tag: 'x00102160', name: 'EthnicGroup' },
  { tag: 'x001021b0', name: 'AdditionalPatientHistory' },
  { tag: 'x00104000', name: 'PatientComments' },
  { tag: 'x00181000', name: 'DeviceSerialNumber' },
  { tag: 'x00200010', name: 'StudyID' },
  { tag: 'x00204000', name: 'ImageComments' },
  { tag: 'x00321032', name: 'RequestingPhysician' },
  { tag: 'x00400244', name: 'PerformedProcedureStepStartDate' },
  { tag: 'x00400245', name: 'PerformedProcedureStepStartTime' },
  { tag: 'x00400253', name: 'PerformedProcedureStepID' },
];

const PHI_TAG_SET = new Set(PHI_TAGS.map((t) => t.tag));

/** A UID under the 2.25 root derived from a keyed hash: stable for one key, unlinkable without it. */
export function pseudonymousUid(uid: string, key: string): string {
  const digest = createHmac('sha256', key).update(uid).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${digest}`).toString()}`;
}

/**
 * Metadata without the patient identifier. With remapUids, study/series/instance UIDs are replaced
 * by keyed pseudonyms, so that images still group by study without revealing the originals.
 */
export function deidentifyMetadata(meta: DicomMetadata, options: { remapUids?: { key: string } } = {}): DicomMetadata {
  const { patientId: _dropped, ...rest } = meta;
  const remap = options.remapUids;
  if (!remap) return rest;
  const out: DicomMetadata = { ...rest };
  if (out.studyInstanceUid) out.studyInstanceUid = pseudonymousUid(out.studyInstanceUid, remap.key);
  if (out.seriesInstanceUid) out.seriesInstanceUid = pseudonymousUid(out.seriesInstanceUid, remap.key);
  if (out.sopInstanceUid) out.sopInstanceUid = pseudonymousUid(out.sopInstanceUid, remap.key);
  return out;
}

function blankPhi(ds: DataSet, out: Uint8Array, shift: number, blanked: Set<string>): void {
  for (const [tag, el] of Object.entries(ds.elements)) {
    if (el.items) {
      for (const item of el.items) if (item.dataSet) blankPhi(item.dataSet, out, shift, blanked);
      continue;
    }
    if (!PHI_TAG_SET.has(tag) || el.length === 0 || el.length === 0xffffffff) continue;
    // Same length, spaces: the file's structure and every offset stay valid.
    out.fill(0x20, el.dataOffset - shift, el.dataOffset - shift + el.length);
    blanked.add(tag);
  }
}

/**
 * A copy of a DICOM file with the values of PHI_TAGS (also inside sequences) overwritten by
 * spaces. Private tags and UIDs are left alone; deflated files are refused (offsets would refer to
 * the inflated stream).
 */
export function deidentifyDicom(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): { bytes: Uint8Array; blankedTags: string[] } {
  const detected = detectFormat(bytes);
  if (detected.format !== 'DICOM') throw new ImageError('UNSUPPORTED_FORMAT', `deidentifyDicom needs a DICOM file, not ${detected.format}.`);
  const { dataSet, transferSyntaxUid } = parseDicomBytes(bytes, detected.layout, limits);
  if (transferSyntaxUid === TS.DEFLATED_EXPLICIT_LE) {
    throw new ImageError('UNSUPPORTED_TRANSFER_SYNTAX', 'De-identifying a deflated DICOM file in place is not supported.');
  }
  const out = new Uint8Array(bytes);
  const blanked = new Set<string>();
  blankPhi(dataSet, out, detected.layout === 'part10-no-preamble' ? 132 : 0, blanked);
  return { bytes: out, blankedTags: [...blanked].sort() };
}
