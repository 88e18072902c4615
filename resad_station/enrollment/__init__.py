"""Enrollment: image checks, reference sets, calibration, teach-as-good."""
