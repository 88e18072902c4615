"""The shift report: what the station saw, decided and was told over a period, as a PDF."""

from resad_station.reports.data import ShiftData, gather
from resad_station.reports.pdf import write_pdf

__all__ = ["ShiftData", "gather", "write_pdf"]
