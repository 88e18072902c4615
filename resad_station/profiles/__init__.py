"""Product profiles: YAML files validated into frozen pydantic models with precise errors."""

from resad_station.profiles.errors import ProfileError, ProfileIssue
from resad_station.profiles.loader import (
    ProfileEntry,
    find_profile,
    list_profiles,
    load_profile,
    profile_to_yaml,
    save_profile,
    validate_profile_text,
)
from resad_station.profiles.model import (
    AlarmConfig,
    DriftConfig,
    CameraConfig,
    EngineConfig,
    EnrollmentConfig,
    Profile,
    RecordingConfig,
    ThresholdsConfig,
)

__all__ = [
    "AlarmConfig",
    "DriftConfig",
    "CameraConfig",
    "EngineConfig",
    "EnrollmentConfig",
    "Profile",
    "ProfileEntry",
    "ProfileError",
    "ProfileIssue",
    "RecordingConfig",
    "ThresholdsConfig",
    "find_profile",
    "list_profiles",
    "load_profile",
    "profile_to_yaml",
    "save_profile",
    "validate_profile_text",
]
