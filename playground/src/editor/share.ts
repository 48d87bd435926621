/**
 * Shareable links: the source, deflated with `CompressionStream` and base64url-encoded, in the URL
 * hash (`#code=…`), so a link carries the whole workflow and no server is involved.
 */

const prefix = "#code=";

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

async function pipe(
  bytes: Uint8Array<ArrayBuffer>,
  transform: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The hash that carries `source`: `#code=<deflate-raw, base64url>`. */
export async function encodeSource(source: string): Promise<string> {
  const bytes = await pipe(new TextEncoder().encode(source), new CompressionStream("deflate-raw"));
  return `${prefix}${toBase64Url(bytes)}`;
}

/** The source carried by `hash`, `undefined` when it carries none, or an error when it is damaged. */
export async function decodeSource(hash: string): Promise<string | undefined> {
  if (!hash.startsWith(prefix)) return undefined;
  const bytes = await pipe(fromBase64Url(hash.slice(prefix.length)), new DecompressionStream("deflate-raw"));
  return new TextDecoder().decode(bytes);
}
