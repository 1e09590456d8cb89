// Who made a DICOM object this platform writes (the SR's and the Secondary Capture's Manufacturer): the DICOM-in
// watcher recognises the platform's own objects in the PACS by it and does not ingest them as input.
export const PLATFORM_MANUFACTURER = "GK-MVLP platform";
