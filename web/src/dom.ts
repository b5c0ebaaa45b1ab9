// Small DOM helpers shared by the tabs.

/** The element with this id, checked to be of the expected kind: a mismatch is a bug in index.html. */
export function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`#${id} is missing or not a ${kind.name}`);
  return element;
}

/** A status line: plain text, marked as an error or not (the colour is not the only cue: errors start with the words). */
export function say(status: HTMLElement, text: string, isError = false): void {
  status.textContent = text;
  status.classList.toggle("error", isError);
}

/** Points a link at a blob, freeing the one it pointed at before. */
export function linkBlob(link: HTMLAnchorElement, blob: Blob, filename: string): void {
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(blob);
  link.download = filename;
}

/** Shows a blob in an <img>, freeing the blob it showed before. */
export function showBlob(img: HTMLImageElement, blob: Blob): void {
  showUrl(img, URL.createObjectURL(blob));
}

/** Shows an address in an <img>, freeing the blob it showed before (if it showed one). */
export function showUrl(img: HTMLImageElement, url: string): void {
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = url;
}

/**
 * Makes the element around a file input accept dropped files too: the dropped file becomes the
 * input's own, so the rest of the page reads only the input (whichever way the file came).
 */
export function acceptDrops(zone: HTMLElement, input: HTMLInputElement): void {
  const active = (on: boolean) => zone.classList.toggle("dragging", on);
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    active(true);
  });
  zone.addEventListener("dragleave", () => active(false));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    active(false);
    const files = event.dataTransfer?.files;
    if (!files || files.length === 0) return;
    const one = new DataTransfer();
    one.items.add(files[0]!);
    input.files = one.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
}

/** A link within a status line's words. */
export interface Link {
  text: string;
  href: string;
}

/**
 * A status line with links in it ("Open the console on the leader (<link>) to …"): built from
 * nodes, as the text comes partly from the server and must not be parsed as markup.
 */
export function sayWithLinks(status: HTMLElement, parts: Array<string | Link>, isError = false): void {
  status.replaceChildren(...parts.map((part) => {
    if (typeof part === "string") return part;
    const a = document.createElement("a");
    a.href = part.href;
    a.textContent = part.text;
    return a;
  }));
  status.classList.toggle("error", isError);
}

/**
 * A modal confirmation for a destructive action: the answer is a function that opens the dialog
 * and resolves true only when its confirm button closed it (Escape, like the cancel button, keeps
 * things as they are). The cancel button comes first in the dialog, so it has the focus: Enter
 * does not do the destructive thing.
 */
export function confirmation(dialog: HTMLDialogElement, cancel: HTMLButtonElement, confirm: HTMLButtonElement): () => Promise<boolean> {
  cancel.addEventListener("click", () => dialog.close("cancel"));
  confirm.addEventListener("click", () => dialog.close("confirm"));
  return () =>
    new Promise((resolve) => {
      // close() without a value keeps the last one: Escape must not repeat an earlier "confirm".
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
      dialog.showModal();
    });
}
