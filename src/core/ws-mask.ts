/**
 * The WebSocket masking key of burrow's own clients (the agent, `burrow connect`), where
 * zeroMaskSafe() allows it: all zeros. Every client frame still carries the mask bit and a key
 * (RFC 6455 framing is unchanged, any server accepts it), but XOR with zero is the identity, so
 * `ws` neither copies each outgoing message into a masked buffer nor does the server unmask it.
 * Masking guards intermediaries against bytes chosen by a script in a browser; these clients are not
 * browsers, and the bytes that would have been masked come from the user's own local connections.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * Zero masks only where no intermediary can read the frames: over TLS (wss://) or to a loopback
 * address. Over plain ws:// to another host the key stays random, as RFC 6455 §5.3 asks, so a
 * transparent proxy on the way never sees the bytes unmasked.
 */
export function zeroMaskSafe(endpoint: string | URL): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol === 'wss:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The `ws` client options for `endpoint`'s masking: the zero key where it is safe, else ws's random one. */
export function maskOptions(endpoint: string | URL): { generateMask?: (mask: Buffer) => void } {
  return zeroMaskSafe(endpoint) ? { generateMask: zeroMask } : {};
}
