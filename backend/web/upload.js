// Send one file to Stowage from a browser: announce -> send to S3 with progress -> confirm.
//
// Copy this file into your app: it needs nothing but the browser (fetch, XMLHttpRequest,
// FormData and Web Crypto), no build step and no other module.
//
//   import { uploadFile } from "./upload.js";
//
//   const file = await uploadFile(input.files[0], {
//     apiUrl: "https://files.example.com", // the Stowage API ("" when this page is served by it)
//     credential: accessToken,             // your identity provider's access token, or an API key
//     onProgress: ({ loaded, total }) => bar.value = loaded / total,
//   });
//   // file is the confirmed record: {file_id, filename, size, sha256, status: "ready", ...}
//
// Every failure is thrown as a StowageError whose message can be shown to a person as it is
// (cancelling through `signal` throws the usual AbortError instead).

/** Files up to this size are hashed first, so S3 itself refuses any other bytes. */
export const DEFAULT_HASH_LIMIT = 100_000_000; // 100 MB

/** Files above this size go in parts (the API's default threshold): parallel and resumable. */
export const DEFAULT_MULTIPART_ABOVE = 64 * 1024 * 1024;

/** Parts in flight at once, and tries per part before giving up. */
const PART_JOBS = 4;
const PART_TRIES = 3;

/** A failure explained for people; `status` and `code` are the API's or S3's when known. */
export class StowageError extends Error {
  constructor(message, { status = 0, code = "", problem = null } = {}) {
    super(message);
    this.name = "StowageError";
    this.status = status;
    this.code = code;
    this.problem = problem; // the API's problem document, when there was one
  }
}

/**
 * Upload `file` (a File or Blob with a name) and return the confirmed file record.
 *
 * Options: apiUrl, credential (required), onProgress({loaded, total}) with bytes of the file,
 * onStage(stage) with "hashing", "announcing", "sending", "confirming"; signal (AbortSignal);
 * hashLimit (bytes; 0 turns hashing off); method: "POST" (a form, the default) or "PUT";
 * multipartAbove (bytes): larger files go in parts, each hashed, 4 at a time, and an upload cut
 * short resumes when the same file is uploaded again (even after a reload).
 */
export async function uploadFile(file, options) {
  const {
    apiUrl = "",
    credential,
    onProgress = () => {},
    onStage = () => {},
    signal,
    hashLimit = DEFAULT_HASH_LIMIT,
    method = "POST",
    multipartAbove = DEFAULT_MULTIPART_ABOVE,
  } = options;
  const call = (verb, path, body) => callApi({ apiUrl, credential, signal }, verb, path, body);
  // Parts are signed with their SHA-256, which needs Web Crypto (secure origins only).
  if (file.size > multipartAbove && globalThis.crypto?.subtle) {
    return uploadInParts(file, call, { onProgress, onStage, signal });
  }

  // The whole file is read into memory to hash it, hence the limit. Web Crypto exists only on
  // secure origins (https:, localhost): elsewhere the file goes without a checksum.
  onStage("hashing");
  const sha256 = file.size <= hashLimit ? await sha256Hex(file) : null;
  signal?.throwIfAborted();

  // 1. Announce: the API records a pending file and signs a request for exactly these bytes.
  onStage("announcing");
  const ticket = await call("POST", "/files/upload", {
    filename: file.name || "unnamed",
    content_type: file.type || "application/octet-stream",
    size: file.size,
    method,
    // One request (up to 5 GiB): larger files went in parts above.
    multipart: false,
    ...(sha256 ? { sha256 } : {}),
  });

  // 2. Send the bytes straight to S3, the way the API answered.
  const send = SENDERS[ticket.upload.method];
  if (!send) {
    throw new StowageError(`The API asked for an upload method this page does not know: ${ticket.upload.method}.`);
  }
  onStage("sending");
  await send(ticket.upload, file, { onProgress, signal });

  // 3. Confirm: the API checks what arrived and only then marks the file ready.
  onStage("confirming");
  return call("POST", `/files/${encodeURIComponent(ticket.file_id)}/confirm`);
}

// --- Large files, in parts -----------------------------------------------------------------

// Which pending upload a file belongs to survives a reload: the same name, size and date of
// change pick the same file again.
function resumeKey(file) {
  return `stowage-upload:${file.name}:${file.size}:${file.lastModified ?? ""}`;
}

async function startOrResume(file, call) {
  const remembered = localStorage.getItem(resumeKey(file));
  if (remembered) {
    try {
      const known = await call("GET", `/files/${encodeURIComponent(remembered)}`);
      if (known.status === "pending" && known.multipart && known.size === file.size) {
        const { parts } = await call("GET", `/files/${encodeURIComponent(remembered)}/parts`);
        return { fileId: remembered, plan: known.multipart, held: parts };
      }
    } catch (error) {
      if (error.name === "AbortError") throw error;
      // gone, finished or expired: start again
    }
  }
  const ticket = await call("POST", "/files/upload", {
    filename: file.name || "unnamed",
    content_type: file.type || "application/octet-stream",
    size: file.size,
    multipart: true,
  });
  localStorage.setItem(resumeKey(file), ticket.file_id);
  return { fileId: ticket.file_id, plan: ticket.multipart, held: [] };
}

async function uploadInParts(file, call, { onProgress, onStage, signal }) {
  onStage("announcing");
  const { fileId, plan, held } = await startOrResume(file, call);
  const path = `/files/${encodeURIComponent(fileId)}`;
  const done = new Set(held.map((part) => part.part_number));
  const sent = new Map(); // part number -> bytes of it S3 has taken so far
  let base = held.reduce((total, part) => total + part.size, 0);
  const report = () => {
    let loaded = base;
    for (const bytes of sent.values()) loaded += bytes;
    onProgress({ loaded: Math.min(loaded, file.size), total: file.size });
  };
  report();
  onStage("sending");
  const queue = [];
  for (let number = 1; number <= plan.part_count; number += 1) if (!done.has(number)) queue.push(number);

  async function sendPart(number) {
    const start = (number - 1) * plan.part_size;
    const blob = file.slice(start, Math.min(start + plan.part_size, file.size));
    const sha256 = await sha256Hex(blob);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const signed = await call("POST", `${path}/parts`, {
          part_numbers: [number],
          sha256: { [number]: sha256 },
        });
        const upload = signed.parts[0];
        const headers = Object.entries(upload.headers).filter(([name]) => name.toLowerCase() !== "content-length");
        await transfer("PUT", upload.url, blob, Object.fromEntries(headers), blob.size, {
          onProgress: ({ loaded }) => {
            sent.set(number, loaded);
            report();
          },
          signal,
        });
        sent.delete(number);
        base += blob.size;
        report();
        return;
      } catch (error) {
        // A refusal (4xx) will not change by asking again; a cut connection or a 5xx may.
        const lasting = error.name === "AbortError" || (error.status >= 400 && error.status < 500);
        if (lasting || attempt === PART_TRIES) throw error;
        sent.delete(number);
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
      }
    }
  }

  async function worker() {
    while (queue.length) await sendPart(queue.shift());
  }
  await Promise.all(Array.from({ length: Math.min(PART_JOBS, queue.length) }, worker));

  onStage("confirming");
  const confirmed = await call("POST", `${path}/confirm`);
  localStorage.removeItem(resumeKey(file));
  return confirmed;
}

/** The SHA-256 of a Blob as lowercase hex, or null where Web Crypto is unavailable. */
export async function sha256Hex(blob) {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Call the API: JSON in, JSON out (null for 204). `Authorization: Bearer` carries the API key or
 * the token alike. Problem documents and network failures become StowageErrors.
 */
export async function callApi({ apiUrl = "", credential, signal }, method, path, body) {
  const url = apiUrl.replace(/\/+$/, "") + path;
  const headers = { Authorization: `Bearer ${credential}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw await unreachable(apiUrl);
  }
  const text = await response.text();
  if (!response.ok) throw problemError(response, text);
  return text ? JSON.parse(text) : null;
}

// --- Sending the bytes -------------------------------------------------------------------

const SENDERS = {
  // A presigned POST form: every signed field first, exactly as given, then the file, last
  // (S3 ignores whatever follows the file). No Content-Type header: the browser writes the
  // multipart boundary itself.
  POST(upload, file, options) {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file);
    return transfer("POST", upload.url, form, {}, file.size, options);
  },
  // A presigned PUT: the file is the body and the signed headers go as they are, except
  // Content-Length, which browsers set themselves (and refuse to be told).
  PUT(upload, file, options) {
    const headers = Object.entries(upload.headers).filter(([name]) => name.toLowerCase() !== "content-length");
    return transfer("PUT", upload.url, file, Object.fromEntries(headers), file.size, options);
  },
};

// XMLHttpRequest, because fetch() cannot report upload progress. Listening for upload progress
// makes even a form POST send a CORS preflight: the bucket's CORS rule must allow this origin.
function transfer(method, url, body, headers, size, { onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      // A form carries its fields before the file: count only the file's own bytes.
      const overhead = event.total - size;
      onProgress({ loaded: Math.max(0, Math.min(size, event.loaded - overhead)), total: size });
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress({ loaded: size, total: size });
        resolve();
      } else {
        reject(storageError(xhr, url));
      }
    };
    xhr.onerror = () => reject(storageError(xhr, url));
    xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
    if (signal) {
      if (signal.aborted) return reject(new DOMException("The upload was cancelled.", "AbortError"));
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(body);
  });
}

// --- Errors, readable --------------------------------------------------------------------

// S3 answers in XML: <Error><Code>EntityTooLarge</Code><Message>...</Message></Error>.
const S3_REASONS = {
  AccessDenied: "the upload was refused (the form may have expired: try again)",
  EntityTooLarge: "the file is larger than announced (did it change?)",
  EntityTooSmall: "the file is smaller than announced (did it change?)",
  BadDigest: "the bytes differ from the checksum (did the file change?)",
  InvalidDigest: "the checksum was not accepted",
  SignatureDoesNotMatch: "the signature does not match what was sent",
  RequestTimeTooSkewed: "this device's clock is too far off",
  ExpiredToken: "the upload form expired: try again",
};

function storageError(xhr, url) {
  const host = new URL(url, location.href).host;
  if (xhr.status === 0) {
    return new StowageError(
      `The upload to storage (${host}) was blocked or cut off. If this page is on another origin, ` +
        `the bucket's CORS rules must allow ${location.origin}.`,
    );
  }
  const code = xmlElement(xhr.responseText, "Code");
  const message = xmlElement(xhr.responseText, "Message");
  const reason = S3_REASONS[code] || message || `it answered ${xhr.status}`;
  const detail = code ? ` (${code}${message && S3_REASONS[code] ? `: ${message}` : ""})` : "";
  return new StowageError(`Storage refused the file: ${reason}${detail}.`, { status: xhr.status, code });
}

// The text of the first <name> element, unescaped; a regular expression suffices for S3's flat
// error documents and, unlike DOMParser, runs under Trusted Types (and outside browsers).
function xmlElement(xml, name) {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml || "");
  if (!match) return "";
  const entities = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  return match[1].replace(/&(amp|lt|gt|quot|apos);/g, (_, entity) => entities[entity]);
}

// The API's errors are RFC 9457 problem documents: `detail` is written for people, `code` for
// programs to branch on.
function problemError(response, text) {
  let problem = null;
  try {
    problem = JSON.parse(text);
  } catch {
    // not JSON: a proxy or load balancer answered
  }
  if (problem && typeof problem.detail === "string") {
    return new StowageError(problem.detail, { status: response.status, code: problem.code || "", problem });
  }
  const reason = response.statusText ? ` ${response.statusText}` : "";
  return new StowageError(`The API answered ${response.status}${reason}.`, { status: response.status });
}

// fetch() says nothing about why a request failed. A request in "no-cors" mode needs no CORS
// permission, so if it gets through, the API is up and it is this origin that was refused.
async function unreachable(apiUrl) {
  const api = new URL(apiUrl || location.origin, location.href).origin;
  try {
    await fetch(`${apiUrl.replace(/\/+$/, "")}/health/live`, { mode: "no-cors", cache: "no-store" });
  } catch {
    return new StowageError(`Could not reach the API at ${api}: check the address and that it is running.`);
  }
  if (api === location.origin) {
    return new StowageError("The connection to the API failed: try again.");
  }
  return new StowageError(
    `The API at ${api} refused this page's origin (${location.origin}) at the CORS preflight: ` +
      `add ${location.origin} to the API's CORS_ALLOW_ORIGINS.`,
    { code: "cors_refused" },
  );
}
