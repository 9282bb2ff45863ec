"""Speech to text: Whisper weights, the two inference engines and their output schema."""
