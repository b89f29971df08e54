/** The localtunnel / pipenet compatibility edge (server side). See docs/localtunnel.md. */
export { createLocaltunnelAdapter, type LocaltunnelAdapter, type LocaltunnelAdapterOptions } from './adapter.js';
export { LocaltunnelTunnel } from './tunnel.js';
export {
  buildHandshakeReply,
  parseHandshake,
  IdLineReader,
  type HandshakeReply,
  type HandshakeRequest,
} from './wire.js';
export * from './limits.js';
