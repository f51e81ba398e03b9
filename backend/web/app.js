// The page: sign in, upload files with progress, and the file list.

import { FileList } from "./files.js";
import { formatBytes, formatSpeed, show } from "./format.js";
import { DEFAULT_HASH_LIMIT, callApi, uploadFile } from "./upload.js";

const $ = (id) => document.getElementById(id);

// The credential lives in sessionStorage: this tab only, gone when it closes. The API URL is
// not a secret and is remembered across visits.
const CREDENTIAL = "stowage.credential";
const API_URL = "stowage.apiUrl";
const PARALLEL_UPLOADS = 3;

let session = null; // {apiUrl, credential} once signed in
let files = null;

function api(method, path, signal) {
  return callApi({ ...session, signal }, method, path).catch((error) => {
    if (error.status === 401) signOut("The API no longer accepts this key or token: sign in again.");
    throw error;
  });
}

// --- Signing in --------------------------------------------------------------------------

async function signIn(apiUrl, credential) {
  const candidate = { apiUrl: apiUrl.trim().replace(/\/+$/, ""), credential: credential.trim() };
  // Any authenticated call tells whether the API takes this credential (and this origin).
  await callApi(candidate, "GET", "/files?limit=1");
  session = candidate;
  sessionStorage.setItem(CREDENTIAL, session.credential);
  localStorage.setItem(API_URL, session.apiUrl);
  $("session-api").textContent = session.apiUrl || location.origin;
  $("sign-in").hidden = true;
  $("session").hidden = false;
  $("workspace").hidden = false;
  files = files || new FileList(api, fileListElements());
  await files.restart();
}

function signOut(message = "") {
  // Uploads under way go with the credential they were using.
  for (const row of queue.splice(0)) row.finish("cancelled", "Cancelled");
  for (const row of active) row.controller.abort();
  session = null;
  sessionStorage.removeItem(CREDENTIAL);
  $("credential").value = "";
  $("workspace").hidden = true;
  $("session").hidden = true;
  $("sign-in").hidden = false;
  show($("sign-in-error"), message);
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const submit = $("sign-in-submit");
  submit.disabled = true;
  show($("sign-in-error"), "");
  try {
    await signIn($("api-url").value, $("credential").value);
  } catch (error) {
    show($("sign-in-error"), error.status === 401 ? "The API did not accept this key or token." : error.message);
  } finally {
    submit.disabled = false;
  }
});
$("sign-out").addEventListener("click", () => signOut());

function fileListElements() {
  return {
    body: $("files-body"),
    table: $("files-table"),
    empty: $("files-empty"),
    error: $("files-error"),
    search: $("search"),
    status: $("status-filter"),
    previous: $("previous-page"),
    next: $("next-page"),
    pageLabel: $("page-label"),
  };
}

// --- Choosing files ----------------------------------------------------------------------

const dropZone = $("drop-zone");
$("file-input").addEventListener("change", (event) => {
  enqueue([...event.target.files]);
  event.target.value = ""; // choosing the same file again is another upload
});
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("over");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("over");
  enqueue([...event.dataTransfer.files]);
});

// --- Uploading, a few at a time ----------------------------------------------------------

const queue = [];
const active = new Set();
let running = 0;

function enqueue(chosen) {
  for (const file of chosen) queue.push(new UploadRow(file));
  pump();
}

function pump() {
  while (running < PARALLEL_UPLOADS && queue.length) {
    const row = queue.shift();
    running += 1;
    active.add(row);
    row.run().finally(() => {
      active.delete(row);
      running -= 1;
      pump();
    });
  }
}

function hashLimit() {
  const megabytes = Number($("hash-limit").value);
  return Number.isFinite(megabytes) && megabytes >= 0 ? megabytes * 1e6 : DEFAULT_HASH_LIMIT;
}

// What the API says it checked (the file's `integrity`), as the upload's last words.
const CHECKED = { sha256: " · SHA-256 checked", part_sha256: " · SHA-256 of every part checked", size: "" };

const STAGES = {
  hashing: "Computing SHA-256…",
  announcing: "Asking for an upload form…",
  sending: "Uploading…",
  confirming: "Confirming…",
};

// One file's line in the upload list: name, size, progress bar, speed and outcome.
class UploadRow {
  constructor(file) {
    this.file = file;
    this.controller = new AbortController();
    this.li = document.createElement("li");
    this.li.className = "upload waiting";
    const head = element("div", "upload-head");
    head.append(element("span", "upload-name", file.name), element("span", "upload-size", formatBytes(file.size)));
    this.bar = element("progress", "upload-bar");
    this.bar.max = 1;
    this.bar.value = 0;
    this.status = element("span", "upload-status", "Waiting…");
    this.cancel = element("button", "quiet small", "Cancel");
    this.cancel.type = "button";
    this.cancel.addEventListener("click", () => this.controller.abort());
    const foot = element("div", "upload-foot");
    foot.append(this.status, this.cancel);
    this.li.append(head, this.bar, foot);
    $("uploads").prepend(this.li);
  }

  async run() {
    this.li.className = "upload active";
    let sendingSince = 0;
    let last = { time: 0, loaded: 0 };
    let speed = 0;
    try {
      const confirmed = await uploadFile(this.file, {
        ...session,
        hashLimit: hashLimit(),
        signal: this.controller.signal,
        onStage: (stage) => {
          this.status.textContent = STAGES[stage];
          if (stage === "sending") sendingSince = last.time = performance.now();
        },
        onProgress: ({ loaded, total }) => {
          // Speed: a moving average over progress events, so it does not jump about.
          const now = performance.now();
          if (now - last.time > 200) {
            const current = ((loaded - last.loaded) * 1000) / (now - last.time);
            speed = speed ? 0.7 * speed + 0.3 * current : current;
            last = { time: now, loaded };
          }
          this.bar.value = total ? loaded / total : 1;
          const percent = Math.floor(100 * this.bar.value);
          this.status.textContent = `Uploading… ${percent}%${speed ? ` · ${formatSpeed(speed)}` : ""}`;
        },
      });
      const seconds = (performance.now() - sendingSince) / 1000;
      this.finish("done", `Ready · ${formatBytes(this.file.size)} in ${seconds.toFixed(1)} s` + (CHECKED[confirmed.integrity] ?? (confirmed.sha256 ? " · SHA-256 checked" : "")));
      files?.reload();
    } catch (error) {
      const cancelled = error.name === "AbortError";
      this.finish(cancelled ? "cancelled" : "failed", cancelled ? "Cancelled" : error.message);
    }
  }

  finish(outcome, message) {
    this.li.className = `upload ${outcome}`;
    this.bar.value = outcome === "done" ? 1 : this.bar.value;
    this.status.textContent = message;
    this.cancel.remove();
  }
}

function element(tag, className, text = "") {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

// --- Start -------------------------------------------------------------------------------

$("hash-limit").value = String(DEFAULT_HASH_LIMIT / 1e6);
$("api-url").value = localStorage.getItem(API_URL) || "";
$("api-url").placeholder = location.protocol.startsWith("http") ? location.origin : "https://files.example.com";
const saved = sessionStorage.getItem(CREDENTIAL);
if (saved) {
  signIn($("api-url").value, saved).catch((error) => signOut(error.message));
}
