"""Call audio: transcription with word timestamps, talk/silence ratios, pace, keywords, per-segment sentiment."""
