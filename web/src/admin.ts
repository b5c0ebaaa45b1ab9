// The admin key, one field in the page's header shared by every tab that acts as an administrator
// (Cluster's fault injection and leadership, Library's Delete).

import { ApiError, describe } from "./api";
import { byId } from "./dom";

const KEY_STORAGE = "stego.adminKey";

const el = {
  form: byId("admin-key-form", HTMLFormElement),
  key: byId("admin-key", HTMLInputElement),
};

export function setUpAdminKey(): void {
  // sessionStorage, not localStorage: the key goes when the tab closes.
  el.key.value = sessionStorage.getItem(KEY_STORAGE) ?? "";
  el.key.addEventListener("input", () => sessionStorage.setItem(KEY_STORAGE, el.key.value));
  // Enter in the field would submit the form, which the page's CSP forbids (form-action 'none').
  el.form.addEventListener("submit", (event) => event.preventDefault());
}

/**
 * The headers of an admin call. Without a key the call still goes: the server is the one that
 * knows whether it needs one, and its refusal is put in plain words by adminFailure().
 */
export function adminHeaders(json: boolean): Record<string, string> {
  const headers: Record<string, string> = json ? { "Content-Type": "application/json" } : {};
  if (el.key.value) headers["Authorization"] = `Bearer ${el.key.value}`;
  return headers;
}

/** The words to show for an admin call that failed. */
export function adminFailure(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === "admin_disabled") return "Admin actions are turned off: this cluster has no admin key.";
    if (err.status === 401 || err.status === 403) return "The admin key is missing or wrong.";
  }
  return describe(err);
}
