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
