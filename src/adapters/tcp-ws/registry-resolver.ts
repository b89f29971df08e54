import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import type { RegisteredTunnel, TunnelRegistry } from '../../server/registry.js';
import type { TcpTarget, TcpTargetResolver } from './targets.js';
import { tokenAuthorizer } from './targets.js';

export interface RegistryTcpResolverOptions {
  registry: TunnelRegistry;
  /**
   * The access token of a TCP tunnel (the one `burrow tcp` printed). Return undefined to deny all
   * access to that tunnel (secure default), or `null` to leave it open to anyone.
   */
  tokenFor(tunnel: RegisteredTunnel): string | null | undefined;
}

/**
 * Targets backed by the core registry: a live tunnel of kind 'tcp' named <name>. open() asks the
 * agent for a raw stream (tunnel.openStream({ remoteAddress, kind: 'tcp' })).
 */
export function createRegistryTcpResolver(options: RegistryTcpResolverOptions): TcpTargetResolver {
  return {
    resolve(name: string): TcpTarget | undefined {
      const tunnel = options.registry.get(name);
      if (!tunnel || tunnel.kind !== 'tcp' || !tunnel.openStream) return undefined;
      const token = options.tokenFor(tunnel);
      const authorize = token === undefined ? () => false : tokenAuthorizer(token ?? undefined);
      return {
        name,
        authorize,
        async open(info): Promise<Duplex> {
          // Look the tunnel up again: it may have been replaced while a session was detached.
          const live = options.registry.get(name);
          if (!live || live.kind !== 'tcp' || !live.openStream) {
            throw new BurrowError('BURROW_ERR_AGENT_GONE', `tcp tunnel "${name}"`);
          }
          return live.openStream({ remoteAddress: info.remoteAddress, kind: 'tcp' });
        },
      };
    },
  };
}
