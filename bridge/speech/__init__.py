"""Speech: voice activity (Silero VAD), recognition (Moonshine base-en), transcripts and their outputs."""
