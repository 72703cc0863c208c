"""Video-call analysis: faces, landmarks, emotions, engagement and attention per frame and per call."""
