"""Live calls over a WebSocket (``WS /calls``): rolling transcript, running triage, one alert.

``protocol`` (messages and close codes), ``frames`` (PCM in, 16 kHz out), ``vad`` (utterances
end on silence), ``agreement`` (LocalAgreement-2 for partials), ``session`` (one call's workers
and accumulated triage), ``endpoint`` (the receive loop and its limits). See docs/LIVE_CALLS.md.
"""
