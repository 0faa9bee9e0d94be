"""Audio: reading any soundfile-readable file, checking it, and features for the motion model."""
