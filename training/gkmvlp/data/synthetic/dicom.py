"""DICOM Part 10 export of a synthetic film: CR, MONOCHROME2, 16-bit allocated / 12-bit stored,
identity rescale, and a VOI window that maps the stored values back onto the 8-bit PNG
(windowed value = stored * 255 / 4095, within one grey level of the PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
MAX_STORED = 4095


def write_dicom(path: Path, image_float: np.ndarray, record: dict, seed: int) -> None:
    sid = record["id"]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[sid, "sop"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = generate_uid(entropy_srcs=["gkmvlp-synthetic"])
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID = CR_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[sid, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[sid, "series"])
    ds.PatientName = f"Synthetic^{sid}"
    ds.PatientID = sid
    ds.StudyID = str(seed)
    ds.AccessionNumber = sid[-16:]
    ds.Modality = "CR"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = record["view"]
    ds.ImageComments = "synthetic chest X-ray (gkmvlp-synthetic), not a patient image"
    h, w = image_float.shape
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = "1", "0", "US"
    ds.WindowCenter, ds.WindowWidth = "2048", "4096"
    ds.VOILUTFunction = "LINEAR"
    ds.PixelSpacing = [f"{400.0 / w:.4f}", f"{400.0 / h:.4f}"]
    stored = np.round(np.clip(image_float, 0, 1) * MAX_STORED).astype(np.uint16)
    ds.PixelData = stored.tobytes()
    ds.save_as(str(path), write_like_original=False)


def read_dicom_as_8bit(path) -> np.ndarray:
    """Apply rescale and the (linear) VOI window of a file written above -> uint8."""
    ds = pydicom.dcmread(str(path))
    x = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    c, w = float(ds.WindowCenter), float(ds.WindowWidth)
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0
    return np.clip(np.round(y), 0, 255).astype(np.uint8)
