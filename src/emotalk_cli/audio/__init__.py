"""Audio: reading any file the shipped ffmpeg decodes (soundfile first), checking it, and features for the motion model."""
