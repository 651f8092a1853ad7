"""Synthetic DCE-MRI patients and cohorts with known ground truth (SPEC section 14).

Public API: :func:`make_patient`, :class:`SyntheticPatient`, :func:`write_patient`, :class:`PatientFiles`,
:class:`PatientBiology`, :func:`sample_biology`, :func:`cohort_records`, :func:`make_cohort`, :data:`CANARY`.
"""
from tnbc_desktop.core.synthetic.biology import PatientBiology, VariantSpec, sample_biology
from tnbc_desktop.core.synthetic.cohort import CohortRecord, cohort_records, make_cohort
from tnbc_desktop.core.synthetic.demo_patient import DEMO_SEED, make_demo_patient
from tnbc_desktop.core.synthetic.patient import (CANARY, DEFAULT_PHASE_TIMES_S, DEFAULT_SHAPE, DEFAULT_SPACING_MM,
                                                 PatientFiles, SyntheticPatient, make_patient, phase_times_for,
                                                 write_patient)

__all__ = [
    "CANARY", "DEMO_SEED", "DEFAULT_PHASE_TIMES_S", "DEFAULT_SHAPE", "DEFAULT_SPACING_MM", "CohortRecord",
    "PatientBiology", "PatientFiles", "SyntheticPatient", "VariantSpec", "cohort_records", "make_cohort",
    "make_demo_patient", "make_patient",
    "phase_times_for", "sample_biology", "write_patient",
]
