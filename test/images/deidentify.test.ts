import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, deidentifyDicom, deidentifyMetadata, DEFAULT_IMAGE_LIMITS, PHI_TAGS, pseudonymousUid } from '../../lib/images/index.ts';
import { fixture } from './helpers.ts';

test('deidentifyDicom blanks PatientName in the legacy NEMA file and keeps it decodable with identical pixels', () => {
  const bytes = fixture('nema_cr_mono1_10bit_chest.dcm');
  assert.ok(bytes.includes(Buffer.from('Anonymized')));
  const out = deidentifyDicom(bytes);
  assert.equal(out.bytes.length, bytes.length);
  assert.ok(!Buffer.from(out.bytes).includes(Buffer.from('Anonymized')));
  assert.ok(out.blankedTags.includes('x00100010'));
  assert.ok(out.blankedTags.includes('x00080080'), 'InstitutionName too');
  const a = decodeImage(bytes, { limits: DEFAULT_IMAGE_LIMITS });
  const b = decodeImage(out.bytes, { limits: DEFAULT_IMAGE_LIMITS });
  assert.deepEqual(b.pixels, a.pixels);
  assert.equal(b.dicom?.sopInstanceUid, a.dicom?.sopInstanceUid);
});

test('deidentifyDicom blanks patient ID and name in the SIIM Part 10 file', () => {
  const bytes = fixture('siim_cr_chest_pa_mono2.dcm');
  const id = '16d7f894-55d7-4d95-8957-d18987f0e981';
  assert.ok(bytes.includes(Buffer.from(id)));
  const out = deidentifyDicom(bytes);
  assert.ok(!Buffer.from(out.bytes).includes(Buffer.from(id)));
  assert.equal(decodeImage(out.bytes, { limits: DEFAULT_IMAGE_LIMITS }).dicom?.patientId, undefined);
});

test('deidentifyMetadata drops patientId and, with a key, replaces UIDs by stable 2.25 pseudonyms', () => {
  const meta = decodeImage(fixture('siim_cr_chest_pa_mono2.dcm'), { limits: DEFAULT_IMAGE_LIMITS }).dicom!;
  assert.ok(meta.patientId);
  const plain = deidentifyMetadata(meta);
  assert.equal('patientId' in plain, false);
  assert.equal(plain.studyInstanceUid, meta.studyInstanceUid);
  const remapped = deidentifyMetadata(meta, { remapUids: { key: 'site-secret' } });
  assert.match(remapped.studyInstanceUid!, /^2\.25\.\d+$/);
  assert.ok(remapped.studyInstanceUid!.length <= 64);
  assert.notEqual(remapped.studyInstanceUid, meta.studyInstanceUid);
  assert.equal(remapped.studyInstanceUid, pseudonymousUid(meta.studyInstanceUid!, 'site-secret'), 'stable');
  assert.notEqual(pseudonymousUid(meta.studyInstanceUid!, 'other-key'), remapped.studyInstanceUid);
  assert.ok(PHI_TAGS.some((t) => t.name === 'PatientBirthDate'));
});
