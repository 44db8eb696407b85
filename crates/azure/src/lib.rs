//! Azure collector for Trustplane posture (work in progress).
