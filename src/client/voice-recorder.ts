/**
 * Voice notes: a microphone button next to the paper clip records with MediaRecorder; stopping
 * puts the recording in the tray like any file (caption, then Send), so it is uploaded, sealed
 * and sent exactly as files are. Escape or Cancel throws a recording away. Browsers without
 * MediaRecorder get no button.
 */

import { el, strokeIcon } from "./dom.js";

export type VoiceRecorderDeps = {
  /** The button goes after this one (the paper clip). */
  after: HTMLElement;
  /** The recording's status bar goes just before this (the composer's form). */
  form: HTMLElement;
  /** The largest file that may be sent: a recording stops itself before it. */
  maxBytes: number;
  disabled: boolean;
  recorded(file: File): void;
  /** Aborted when the conversation pane is replaced: a recording is discarded, the microphone freed. */
  signal?: AbortSignal;
};

/** What MediaRecorder makes here, as a plain type the server keeps (no codec parameters). */
const FORMATS = [
  { mime: "audio/webm;codecs=opus", type: "audio/webm", extension: "webm" },
  { mime: "audio/ogg;codecs=opus", type: "audio/ogg", extension: "ogg" },
  { mime: "audio/mp4", type: "audio/mp4", extension: "m4a" },
];
/** Ten minutes: a voice note, not a podcast. */
const MAX_SECONDS = 600;

const microphone = () => strokeIcon(["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0", "M12 18v3"]);

const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;

/** Adds the button (where recording is possible); answers how to clear its status line. */
export function createVoiceRecorder(deps: VoiceRecorderDeps): { clear(): void } {
  const none = { clear: () => undefined };
  if (typeof MediaRecorder === "undefined" || !navigator.mediaDevices?.getUserMedia) return none;
  const format = FORMATS.find((f) => MediaRecorder.isTypeSupported(f.mime));
  if (!format) return none;

  const button = el("button", "button button-ghost attach-button voice-button");
  button.type = "button";
  button.append(microphone());
  button.disabled = deps.disabled;
  const bar = el("div", "voice-bar small");
  const status = el("span", "voice-status");
  status.setAttribute("role", "status");
  const cancel = el("button", "link-button small voice-cancel", "Cancel");
  cancel.type = "button";
  cancel.hidden = true;
  bar.append(status, cancel);
  bar.hidden = true;
  deps.after.after(button);
  deps.form.before(bar);
  const say = (text: string) => {
    status.textContent = text;
    bar.hidden = text === "";
  };

  let recording: { recorder: MediaRecorder; stream: MediaStream; started: number; timer: number; keep: boolean } | undefined;
  const label = (text: string) => {
    button.setAttribute("aria-label", text);
    button.title = text;
  };
  label("Record a voice note");

  function finish(keep: boolean): void {
    if (!recording) return;
    recording.keep = keep;
    if (recording.recorder.state !== "inactive") recording.recorder.stop();
  }

  async function start(): Promise<void> {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      const denied = err instanceof DOMException && err.name === "NotAllowedError";
      say(
        denied ? "Duet may not use the microphone: allow it in the browser's site settings." : "No microphone could be opened.",
      );
      return;
    }
    const recorder = new MediaRecorder(stream, { mimeType: format?.mime });
    const parts: Blob[] = [];
    let bytes = 0;
    const started = Date.now();
    const timer = window.setInterval(() => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      say(`Recording ${clock(seconds)}`);
      if (seconds >= MAX_SECONDS) finish(true);
    }, 1000);
    recording = { recorder, stream, started, timer, keep: true };
    recorder.addEventListener("dataavailable", (event) => {
      parts.push(event.data);
      bytes += event.data.size;
      // Stop short of the file limit (the last second still has to fit).
      if (bytes > deps.maxBytes * 0.95) finish(true);
    });
    recorder.addEventListener("stop", () => {
      const done = recording;
      recording = undefined;
      window.clearInterval(timer);
      for (const track of stream.getTracks()) track.stop();
      button.classList.remove("recording");
      button.setAttribute("aria-pressed", "false");
      label("Record a voice note");
      cancel.hidden = true;
      if (!done?.keep || parts.length === 0) {
        say("Recording discarded.");
        return;
      }
      const at = new Date();
      const name = `Voice note ${String(at.getHours()).padStart(2, "0")}.${String(at.getMinutes()).padStart(2, "0")}.${format?.extension ?? "webm"}`;
      say(`Voice note of ${clock(Math.round((Date.now() - started) / 1000))} is in the tray: add a caption or send it.`);
      deps.recorded(new File(parts, name, { type: format?.type ?? "audio/webm" }));
    });
    // A slice a second: a recording stopped by the size check loses at most that.
    recorder.start(1000);
    button.classList.add("recording");
    button.setAttribute("aria-pressed", "true");
    label("Stop recording");
    say("Recording 0:00");
    cancel.hidden = false;
  }

  button.addEventListener("click", () => {
    if (recording) finish(true);
    else void start();
  });
  cancel.addEventListener("click", () => {
    finish(false);
    button.focus();
  });
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Escape" && recording) {
        event.preventDefault();
        finish(false);
        button.focus();
      }
    },
    { signal: deps.signal },
  );
  deps.signal?.addEventListener("abort", () => finish(false));
  return {
    clear: () => {
      if (!recording) say("");
    },
  };
}
