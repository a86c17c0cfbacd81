/**
 * 128 random bits in hex: a `clientId` (it matches ^[A-Za-z0-9_.:-]{1,64}$). Web Crypto's
 * getRandomValues exists in browsers (also outside secure contexts, unlike randomUUID)
 * and in Node 20 as `globalThis.crypto`.
 */
export function randomId (): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let id = ''
  for (const byte of bytes) id += byte.toString(16).padStart(2, '0')
  return id
}
