// The live mode's AudioWorklet: hands each block of microphone samples to the page, which
// sends them as PCM frames over WS /calls. A file of its own: the page's CSP forbids blob: scripts.
class Tap extends AudioWorkletProcessor {
  process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice(0)); return true; }
}
registerProcessor("pcm-tap", Tap);
