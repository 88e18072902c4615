"""Engine version, stored in every reference set and model card."""

ENGINE_VERSION = "0.1"
