// The file list: pages (an opaque cursor per page), search by name, download and delete.

import { formatBytes, show } from "./format.js";

const PAGE_SIZE = 10;
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export class FileList {
  /** `api(method, path)` calls the API as the signed-in user; `elements` are the page's. */
  constructor(api, elements) {
    this.api = api;
    this.el = elements;
    this.cursors = [null]; // the cursor of every page seen so far; the first page has none
    this.page = 0;
    this.loading = null; // the AbortController of the listing in flight
    elements.previous.addEventListener("click", () => this.go(this.page - 1));
    elements.next.addEventListener("click", () => this.go(this.page + 1));
    let typing;
    elements.search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.restart(), 250);
    });
    elements.status.addEventListener("change", () => this.restart());
  }

  /** Back to the first page (a new search or filter). */
  restart() {
    this.cursors = [null];
    return this.go(0);
  }

  /** Load the page shown again, e.g. after an upload. */
  reload() {
    return this.go(this.page);
  }

  async go(page) {
    if (page < 0 || page >= this.cursors.length) return;
    this.loading?.abort();
    const loading = (this.loading = new AbortController());
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), status: this.el.status.value });
    const q = this.el.search.value.trim();
    if (q) query.set("q", q);
    // The cursor is opaque: passed back exactly as the API gave it.
    if (this.cursors[page]) query.set("cursor", this.cursors[page]);
    try {
      const result = await this.api("GET", `/files?${query}`, loading.signal);
      this.page = page;
      this.cursors.length = page + 1;
      if (result.next_cursor) this.cursors.push(result.next_cursor);
      this.render(result.items);
      show(this.el.error, "");
    } catch (error) {
      if (error.name !== "AbortError") show(this.el.error, error.message);
    }
  }

  render(items) {
    const rows = items.map((file) => this.row(file));
    this.el.body.replaceChildren(...rows);
    this.el.table.hidden = rows.length === 0;
    this.el.empty.hidden = rows.length > 0;
    this.el.empty.textContent = this.el.search.value.trim() ? "No file matches this search." : "No files here yet.";
    this.el.previous.disabled = this.page === 0;
    this.el.next.disabled = this.page + 1 >= this.cursors.length;
    this.el.pageLabel.textContent = `Page ${this.page + 1}`;
  }

  row(file) {
    const tr = document.createElement("tr");
    tr.dataset.fileId = file.file_id;
    const name = cell(tr, file.filename, "name");
    name.title = file.sha256 ? `SHA-256 ${file.sha256}` : "no checksum";
    cell(tr, formatBytes(file.size), "size");
    cell(tr, file.content_type, "type");
    cell(tr, DATE.format(new Date(file.confirmed_at || file.created_at)), "date");
    const actions = cell(tr, "", "actions");
    if (file.status === "ready") {
      actions.append(button("Download", "small", () => this.download(file)));
    }
    actions.append(deleteButton(() => this.remove(file, tr)));
    return tr;
  }

  async download(file) {
    try {
      const { url } = await this.api("GET", `/files/${file.file_id}/download`);
      // The URL's signature fixes Content-Disposition: attachment, with the file's name.
      const link = document.createElement("a");
      link.href = url;
      link.rel = "noopener";
      link.click();
    } catch (error) {
      show(this.el.error, `${file.filename}: ${error.message}`);
    }
  }

  async remove(file, tr) {
    tr.classList.add("busy");
    try {
      await this.api("DELETE", `/files/${file.file_id}`);
      await this.reload();
    } catch (error) {
      tr.classList.remove("busy");
      show(this.el.error, `${file.filename}: ${error.message}`);
    }
  }
}

function cell(tr, text, className) {
  const td = tr.insertCell();
  td.className = className;
  td.textContent = text;
  return td;
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

// Two clicks to delete: the first arms the button for a few seconds, the second deletes.
function deleteButton(onConfirm) {
  let timer;
  const b = button("Delete", "danger-quiet", () => {
    if (b.classList.contains("armed")) {
      clearTimeout(timer);
      b.disabled = true;
      onConfirm();
      return;
    }
    b.classList.add("armed");
    b.textContent = "Confirm delete";
    timer = setTimeout(() => {
      b.classList.remove("armed");
      b.textContent = "Delete";
    }, 4000);
  });
  return b;
}
