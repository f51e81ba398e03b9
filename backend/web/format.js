// Small helpers the page shares: sizes and speeds for people, and messages shown or hidden.

const UNITS = ["B", "kB", "MB", "GB", "TB"];

/** 1234567 -> "1.2 MB" (decimal units, as file managers and networks count). */
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Bytes per second -> "3.4 MB/s". */
export function formatSpeed(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Show `message` in `element` (as text, never as HTML), or hide it when empty. */
export function show(element, message) {
  element.textContent = message;
  element.hidden = !message;
}
