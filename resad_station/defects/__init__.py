"""Logged defects: export to CSV / zip (listing and labels go through the storage repository)."""
