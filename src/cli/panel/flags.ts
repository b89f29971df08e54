/** The flag the panel adds to `burrow http` and `burrow start` (cheap to load: `--help` builds it). */
import { flag } from '../env.js';

/** `--qr` (BURROW_QR): a QR code of each public HTTP URL, for a phone's camera. */
export function qrFlag() {
  return flag('--qr', 'print a QR code of the public URL (for phones)', { env: 'BURROW_QR' });
}
