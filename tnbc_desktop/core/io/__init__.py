"""Readers and writers: DICOM / NIfTI / NRRD studies, masks, mutation panels, clinical inputs, atomic files."""
