const $ = (id) => document.getElementById(id);
const esc = (s) => s.replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

function bars(el, probs, hotLabels) {
  // Built with DOM calls, not markup: the page's CSP forbids inline style attributes.
  el.replaceChildren();
  for (const [label, p] of Object.entries(probs).sort((a, b) => b[1] - a[1])) {
    const pct = (100 * p).toFixed(1);
    const name = document.createElement("span");
    name.textContent = label;
    const bar = document.createElement("div");
    bar.className = hotLabels.includes(label) ? "bar hot" : "bar";
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-label", label);
    bar.setAttribute("aria-valuenow", pct);
    const fill = document.createElement("span");
    fill.style.width = `${pct}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.textContent = `${pct}%`;
    el.append(name, bar, value);
  }
}

function highlight(original, corrected) {
  // Word-level diff: words of the corrected text that the original lacks are marked.
  const before = new Set(original.split(/\s+/));
  return corrected.split(/\s+/).map((w) => before.has(w) ? esc(w) : `<mark class="fix">${esc(w)}</mark>`).join(" ");
}

function show(result) {
  const d = result.decision;
  const verdict = $("verdict");
  verdict.className = d.is_emergency ? "emergency" : "normal";
  verdict.textContent = d.is_emergency
    ? `🚨 응급 · Emergency — ${d.category}${d.subtype ? " / " + d.subtype : ""} (${(100 * d.emergency_probability).toFixed(0)}%) · dispatch ${d.agency}`
    : `✅ 일반 · Not an emergency (${(100 * d.emergency_probability).toFixed(0)}%)`;
  const segments = result.corrections.length ? result.corrections
    : [{original: result.transcript, corrected: result.corrected_transcript}];
  $("transcript").innerHTML = segments.map((s) => s.original === s.corrected ? esc(s.corrected)
    : `<del class="orig">${esc(s.original)}</del> ${highlight(s.original, s.corrected)}`).join("<br>")
    || "<span class='muted'>(no speech heard)</span>";
  if (result.text) bars($("textbars"), result.text.probabilities, Object.keys(result.text.probabilities).filter((k) => k !== "normal"));
  else $("textbars").innerHTML = "<span class='muted'>no speech</span>";
  bars($("audiobars"), result.audio.probabilities, ["distress", "alarm", "impact"]);
  $("timings").textContent = "timings (ms): " + Object.entries(result.timings_ms).map(([k, v]) => `${k} ${v}`).join(" · ");
  $("result").hidden = false;
}

// The API key is asked for once and kept in sessionStorage: it lasts as long as this tab
// and is never written to disk by the page, nor put in a URL.
const KEY = "triage-api-key";

function askForKey(message) {
  sessionStorage.removeItem(KEY);
  $("keyform").hidden = false;
  $("key").focus();
  if (message) { $("status").textContent = message; $("status").className = "error"; }
}

$("keyform").onsubmit = (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  $("key").value = "";
  $("keyform").hidden = true;
  $("status").textContent = "키 저장됨 · key kept for this tab";
  $("status").className = "";
};

if (!sessionStorage.getItem(KEY)) askForKey();

async function analyze(blob, name) {
  const key = sessionStorage.getItem(KEY);
  if (!key) { askForKey("API 키를 입력하세요 · enter an API key first"); return; }
  const form = new FormData();
  form.append("file", blob, name);
  $("status").textContent = "분석 중… · analyzing…";
  $("status").className = "";
  try {
    const response = await fetch("analyze", {
      method: "POST", body: form, headers: {Authorization: `Bearer ${key}`},
    });
    const body = await response.json();
    if (response.status === 401) { askForKey(`오류 · ${body.error.code}: ${body.error.message}`); return; }
    if (!response.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : response.statusText);
    show(body);
    $("status").textContent = `완료 · done (${name})`;
  } catch (err) {
    $("status").textContent = "오류 · error — " + err.message;
    $("status").className = "error";
  }
}

$("send").onclick = () => {
  const file = $("file").files[0];
  if (!file) { $("status").textContent = "파일을 고르세요 · choose a file first"; return; }
  analyze(file, file.name);
};

let recorder = null;
$("record").onclick = async () => {
  if (recorder) { recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true});
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => chunks.push(e.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      $("record").classList.remove("recording");
      $("record").textContent = "🎙 녹음 · Record";
      recorder = null;
      analyze(new Blob(chunks, {type: chunks[0]?.type || "audio/webm"}), "recording.webm");
    };
    recorder.start();
    $("record").classList.add("recording");
    $("record").textContent = "⏹ 멈춤 · Stop";
    $("status").textContent = "녹음 중… · recording…";
  } catch (err) {
    $("status").textContent = "마이크를 쓸 수 없습니다 · microphone unavailable — " + err.message;
    $("status").className = "error";
  }
};

// Live mode: the microphone through an AudioWorklet (ui/pcm-tap.js), 100 ms PCM frames over
// WS /calls (protocol: docs/LIVE_CALLS.md), events rendered as they come. Browsers cannot set
// headers on a WebSocket, so the key travels as the subprotocols ["bearer", key].
let live = null;

function liveEvent(e) {
  if (e.type === "partial") $("live-partial").textContent = e.text;
  else if (e.type === "segment") {
    $("live-partial").textContent = "";
    const line = document.createElement("div");
    line.textContent = `[${e.start.toFixed(1)}s] ${e.corrected_text || e.text}`;
    $("live-transcript").append(line);
  } else if (e.type === "sound") $("live-sound").textContent =
      `sound ${e.start.toFixed(1)}–${e.end.toFixed(1)}s: ${e.label} (${(100 * e.distress_probability).toFixed(0)}% not calm)`;
  else if (e.type === "triage" && !live?.alerted) {
    $("live-verdict").className = e.is_emergency ? "emergency" : "normal";
    $("live-verdict").textContent = `${e.is_emergency ? "응급 · Emergency" : "일반 · Normal"} (${(100 * e.probability).toFixed(0)}%)`;
  } else if (e.type === "alert") {
    live.alerted = true;
    $("live-verdict").className = "emergency";
    $("live-verdict").textContent = `🚨 ALERT ${e.category}${e.subtype ? " / " + e.subtype : ""} · dispatch ${e.agency} ` +
      `(${(100 * e.probability).toFixed(0)}%) at ${e.call_time_s.toFixed(1)}s`;
  } else if (e.type === "summary") {
    $("status").textContent = `통화 종료 · call ended: ${e.segments} segments, ${e.duration_s.toFixed(1)}s` +
      (e.time_to_alert_s === null ? "" : `, alert ${e.time_to_alert_s.toFixed(2)}s after the decisive words`);
  } else if (e.type === "error") {
    $("status").textContent = `오류 · error — ${e.code}: ${e.message}`;
    $("status").className = "error";
  }
}

async function startLive() {
  const key = sessionStorage.getItem(KEY);
  if (!key) { askForKey("API 키를 입력하세요 · enter an API key first"); return; }
  const stream = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation: false}});
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule("ui/pcm-tap.js");
  const url = new URL("calls", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url, ["bearer", key]);
  live = {stream, ctx, ws, alerted: false, stopped: false, opened: false};
  const frame = Math.round(ctx.sampleRate / 10);
  let pending = [];
  let held = 0;
  ws.onopen = () => {
    live.opened = true;
    ws.send(JSON.stringify({type: "start", sample_rate: ctx.sampleRate, encoding: "pcm_s16le"}));
    const tap = new AudioWorkletNode(ctx, "pcm-tap");
    const mute = ctx.createGain();
    mute.gain.value = 0;
    ctx.createMediaStreamSource(stream).connect(tap).connect(mute).connect(ctx.destination);
    tap.port.onmessage = ({data}) => {
      pending.push(data);
      held += data.length;
      if (held < frame || ws.readyState !== WebSocket.OPEN) return;
      const pcm = new Int16Array(held);
      let at = 0;
      for (const part of pending) for (const x of part) pcm[at++] = Math.max(-1, Math.min(1, x)) * 32767;
      ws.send(pcm.buffer);
      pending = [];
      held = 0;
    };
  };
  ws.onmessage = (m) => liveEvent(JSON.parse(m.data));
  ws.onclose = () => {
    // A refused handshake (unknown or revoked key, rate limit) closes before it ever opened;
    // the browser hides the server's answer, so the likeliest cause is named.
    const refused = live && !live.opened;
    stopLive(false);
    if (refused) askForKey("통화가 거부되었습니다 · call refused: check the API key");
  };
  $("live-panel").hidden = false;
  $("live-transcript").replaceChildren();
  $("live-verdict").className = "";
  $("live-verdict").textContent = "듣는 중 · listening";
  $("live").classList.add("recording");
  $("live").textContent = "⏹ 통화 종료 · Hang up";
  $("status").textContent = "실시간 통화 중… · live call…";
  $("status").className = "";
}

function stopLive(sendStop) {
  // Hanging up sends 'stop' and keeps the socket open for the summary; the close ends the call.
  if (!live) return;
  if (sendStop && live.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify({type: "stop"}));
  if (!live.stopped) {
    live.stopped = true;
    live.stream.getTracks().forEach((t) => t.stop());
    live.ctx.close();
  }
  $("live").classList.remove("recording");
  $("live").textContent = "📞 실시간 통화 · Live call";
  if (!sendStop) live = null;
}

$("live").onclick = async () => {
  if (live && live.ws.readyState === WebSocket.OPEN) { stopLive(true); return; }
  try { await startLive(); } catch (err) {
    $("status").textContent = "마이크를 쓸 수 없습니다 · microphone unavailable — " + err.message;
    $("status").className = "error";
  }
};
