/** Where burrow's agent protocol is spoken: the WebSocket path on the server's own host (docs/PROTOCOL.md). */
export const AGENT_PATH = '/api/v1/agent';
