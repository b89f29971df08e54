/** A QR code of a URL as terminal lines (two modules per character cell), for a phone's camera. */
import { renderUnicodeCompact } from 'uqr';

/** Light modules drawn as blocks: right on a dark terminal; the one-module border is the quiet zone. */
export function qrLines(url: string): string[] {
  return renderUnicodeCompact(url, { border: 1 }).split('\n');
}
