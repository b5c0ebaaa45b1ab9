// The cover library's model, shared by the Library tab (which lists it) and the Hide tab (which
// hides data in a library cover).

/** A cover of the library, as GET /api/v1/covers lists it. */
export interface Cover {
  /** The SHA-256 of its bytes, in hex: the same image uploaded twice is one cover. */
  id: string;
  name: string | null;
  size_bytes: number;
  format: string;
  media_type: string;
  width: number;
  height: number;
  channels: number;
  /** The most bytes of a text message it holds at 1 bit per colour channel. */
  capacity_bytes: number;
  created_at: string;
}

/** Its name, or (uploaded without a usable file name) the start of its id. */
export function coverName(cover: Cover): string {
  return cover.name ?? `cover ${cover.id.slice(0, 12)}`;
}

/** Its bytes' address: immutable (the id is their hash), so the browser caches them for good. */
export function coverImageUrl(cover: Cover): string {
  return `/api/v1/covers/${encodeURIComponent(cover.id)}/image`;
}
