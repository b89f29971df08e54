// Preloaded into a client's process (node --import): every socket idle timeout (socket.setTimeout)
// runs BURROW_TEST_SOCKET_TIMEOUT_DIVISOR times sooner, so a test can outlast an npm client's 30 s
// idle limit in a fraction of a second without changing the client.
import net from 'node:net';

const divisor = Number(process.env.BURROW_TEST_SOCKET_TIMEOUT_DIVISOR ?? '1');
const original = net.Socket.prototype.setTimeout;
net.Socket.prototype.setTimeout = function (ms, ...rest) {
  return original.call(this, ms > 0 ? Math.max(1, Math.round(ms / divisor)) : ms, ...rest);
};
