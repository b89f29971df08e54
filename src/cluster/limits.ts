/**
 * Cluster mode's limits and timings (docs/cluster.md). Every number a node uses to talk to Redis or
 * to its peers is here.
 */

/** A name's lease in Redis lasts this long unless its node renews it (a crashed node's names free up after it). */
export const LEASE_TTL_MS = 15_000;
/** Each node renews its leases and its own node record this often. */
export const HEARTBEAT_MS = 3_000;
/** A node record lives this long without a heartbeat: a node missing longer is gone from the cluster view. */
export const NODE_TTL_MS = 10_000;
/** The whole cluster view (every lease and hold) is read again this often, besides the live events. */
export const VIEW_SYNC_MS = 10_000;
/** One Redis command waits at most this long; then the store counts as unreachable for it. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
/** Reconnect delay to Redis after a failure grows to at most this. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 2_000;
/** A claimed name not taken by add() within this long is released again (the registration failed). */
export const CLAIM_PENDING_MS = 10_000;
/** Opening the WebSocket to another node gives up after this long (a visitor then gets 502, not a hang). */
export const PEER_CONNECT_TIMEOUT_MS = 3_000;
/** Node-to-node links ping this often and count a peer silent for PEER_DEAD_MS as gone. */
export const PEER_PING_INTERVAL_MS = 5_000;
export const PEER_DEAD_MS = 15_000;
/** A visitor check (the owner node's visitor rules) waits this long for the owner's answer, then 502. */
export const PEER_ACCESS_TIMEOUT_MS = 5_000;
/** The cluster secret is at least this many characters (it is the only thing between nodes). */
export const MIN_CLUSTER_SECRET_LENGTH = 32;
/** Node ids: letters, digits, '-', '_' and '.', at most this long. */
export const MAX_NODE_ID_LENGTH = 64;
/** Redis key prefix unless --cluster-prefix says otherwise. */
export const DEFAULT_KEY_PREFIX = 'burrow:';
/**
 * A request for a name whose owner is going away (draining, or its link failed) waits this long for
 * the name to come back on another node before it is answered 502 + Retry-After.
 */
export const HANDOVER_WAIT_MS = 5_000;
/**
 * On SIGTERM a node tells the others it is draining and waits this long before it stops its
 * listener, so that no peer opens a new stream to it after that.
 */
export const DRAIN_NOTICE_MS = 500;
/** During a drain, a stream from another node without a byte for this long is between requests. */
export const PEER_QUIET_MS = 300;
/** How often the drain looks at those streams again. */
export const DRAIN_POLL_MS = 50;
/** A pipe path's meeting node is kept this long after its last participant arrived. */
export const PIPE_RENDEZVOUS_TTL_MS = 10 * 60_000;
