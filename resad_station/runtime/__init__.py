"""The live inspection runtime: capture -> inspection -> verdict -> recorder -> listeners."""
