"""Logged defects: review (pages, labels with their audit row) and export to CSV / zip."""
