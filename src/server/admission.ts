/**
 * How the core asks "may this agent connect / open this tunnel?" and "may this visitor in?".
 * The embedded default admits everyone; src/auth/admission.ts answers from the token store.
 */

/** Who an agent is, once its token (if any) was checked. */
export interface AgentPrincipal {
  /** The token's id, or null for anonymous agents (--auth none). */
  readonly tokenId: string | null;
  /** The presented secret (kept in memory only, to re-check per tunnel). Never logged. */
  readonly secret?: string | undefined;
}

export interface AdmitRequest {
  principal: AgentPrincipal;
  protocol: string;
  kind: 'http' | 'tcp';
  /** Requested name (undefined = server chooses). */
  name?: string | undefined;
  remoteAddress: string;
  /** Tunnels this principal's token holds right now. */
  openTunnels: number;
  /** Visitor rules the agent asked for (flags --basic-auth, --bearer, --allow-ip, --deny-ip, --rate-limit). */
  access?: Record<string, unknown> | undefined;
}

export type VisitorDecision =
  | { readonly allow: true; readonly stripAuthorization: boolean }
  | {
      readonly allow: false;
      readonly status: number;
      readonly code: 'BURROW_ERR_UNAUTHORIZED' | 'BURROW_ERR_FORBIDDEN' | 'BURROW_ERR_RATE_LIMITED';
      readonly message: string;
      readonly headers: Readonly<Record<string, string | readonly string[]>>;
    };

/** Per-tunnel visitor rules, checked before any byte reaches the agent. */
export interface VisitorAccess {
  check(req: {
    remoteAddress: string;
    authorization?: string | readonly string[] | undefined;
  }): VisitorDecision | Promise<VisitorDecision>;
}

export interface AdmittedTunnel {
  /** The name to claim (the requested one, the token's default, or undefined for random). */
  name?: string | undefined;
  access?: VisitorAccess | undefined;
}

export interface AgentAdmission {
  /** Check an agent's token when it connects. Throws BurrowError (UNAUTHORIZED, RATE_LIMITED …). */
  authenticate(req: { token?: string | undefined; remoteAddress: string }): Promise<AgentPrincipal>;
  /** Check one tunnel registration. Throws BurrowError (FORBIDDEN …). */
  admit(req: AdmitRequest): Promise<AdmittedTunnel>;
  /** The stable id for a tunnel (persisted), or undefined to let the core pick a fresh one. */
  tunnelId?(req: { name: string; tokenId: string | null; protocol: string }): Promise<string | undefined>;
}

/** The embedded default: everyone may connect and register; no visitor rules. */
export const OPEN_ADMISSION: AgentAdmission = {
  async authenticate() {
    return { tokenId: null };
  },
  async admit(req) {
    return { name: req.name };
  },
};
