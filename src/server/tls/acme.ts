/**
 * Automatic TLS: certificates obtained from an ACME CA (Let's Encrypt by default) with acme-client,
 * at the first TLS handshake for a name (the https server's SNICallback), for the server's own hosts
 * and live or reserved tunnels only (the gate is `allows`, asked before anything is ordered), at a
 * bounded rate, kept in --acme-dir and renewed in the background ACME_RENEW_BEFORE_MS before expiry.
 *
 * The challenge is HTTP-01, answered on the plain HTTP port (http-port.ts) through challengeAnswer():
 * acme-client drives it fully (TLS-ALPN-01 would need a second certificate path inside the SNI
 * callback, and the plain port is needed anyway for the redirect to HTTPS).
 *
 * With a DNS hook (--acme-dns-hook, dns-hook.ts), every name one label under a domain (tunnels,
 * port-addressed hostnames) is served from one wildcard `*.<domain>` certificate, ordered at start
 * through DNS-01 and renewed like the others; no per-name issuance, no gate. DNS-01 orders run one at
 * a time (two orders for one domain would share the `_acme-challenge` record).
 *
 * A failed issuance is a log line ('acme: issuance failed'), a metric and a failed handshake for
 * that name; the server goes on. Key material is never logged.
 */
import https from 'node:https';
import tls, { type SecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type * as AcmeClient from 'acme-client';
import type { Counter, Registry } from 'prom-client';
import { promClient } from '../../core/packages.js';
import { BurrowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import './errors.js';
import {
  ACME_HANDSHAKE_WAIT_MS,
  ACME_MAX_ISSUANCES_PER_HOUR,
  ACME_RENEW_BEFORE_MS,
  ACME_RENEW_CHECK_INTERVAL_MS,
  ACME_RETRY_AFTER_FAILURE_MS,
} from './limits.js';
import { IssuanceBudget } from './budget.js';
import type { AcmeConfig } from './options.js';
import type { CertificateStore, StoredCertificate } from './store.js';
import { challengeRecord, runDnsHook } from './dns-hook.js';

export interface AcmeManagerOptions {
  readonly config: AcmeConfig;
  readonly logger: Logger;
  /** The server's metrics registry (burrow_acme_certificates_total is registered there). */
  readonly registry: Registry;
  /** May a certificate be obtained for this (lower-case) host? Own hosts and live or reserved tunnels. */
  readonly allows: (host: string) => boolean;
  /** The server's domains: with a DNS hook, `*.<domain>` certificates cover the names under each. */
  readonly domains?: readonly string[];
  /** Called with every certificate put in use (loaded or obtained), e.g. to make the own host's the default. */
  readonly onCertificate?: (c: StoredCertificate) => void;
}

interface Held {
  readonly stored: StoredCertificate;
  readonly context: SecureContext;
  readonly notAfter: number;
}

type Outcome = 'issued' | 'renewed' | 'failed' | 'refused' | 'rate_limited';

export class AcmeManager {
  readonly config: AcmeConfig;
  readonly store: CertificateStore;
  readonly #o: AcmeManagerOptions;
  readonly #now: () => number;
  readonly #held = new Map<string, Held>();
  readonly #pending = new Map<string, Promise<Held>>();
  readonly #failedUntil = new Map<string, number>();
  readonly #budget: IssuanceBudget;
  /** HTTP-01 token → key authorization, while a challenge is open. */
  readonly #challenges = new Map<string, string>();
  readonly #events: Counter<'event'>;
  #client: Promise<AcmeClient.Client> | undefined;
  /** DNS-01 orders, one after another. */
  #dnsQueue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: AcmeManagerOptions) {
    this.#o = options;
    this.config = options.config;
    this.#now = options.config.now;
    this.store = options.config.store;
    this.#budget = new IssuanceBudget(ACME_MAX_ISSUANCES_PER_HOUR, this.#now);
    this.#events = new (promClient().Counter)({
      name: 'burrow_acme_certificates_total',
      help: 'Automatic TLS (ACME) certificate events: issued, renewed, failed, refused (name not allowed), rate_limited',
      labelNames: ['event'],
      registers: [options.registry],
    });
  }

  /**
   * acme-client, loaded at the first order: it is about 16 MiB of RSS (axios, @peculiar/x509), which
   * a server whose certificates are all stored, or that has no --acme, never needs.
   */
  async #acme(): Promise<typeof AcmeClient> {
    const lib = await import('acme-client');
    if (this.config.directoryCa) {
      // acme-client has one HTTP client for the process: a private CA's root is trusted there
      lib.axios.defaults.httpsAgent = new https.Agent({ ca: this.config.directoryCa });
    }
    return lib;
  }

  /** Load the stored certificates (no new issuance for them) and start the renewal task. */
  async start(): Promise<void> {
    for (const stored of await this.store.list()) {
      try {
        this.#use(stored);
      } catch (err) {
        this.#o.logger.warn(
          { name: stored.name, err: String(err) },
          'acme: a stored certificate is unreadable, ignored',
        );
      }
    }
    if (this.#held.size) this.#o.logger.info({ certificates: this.#held.size }, 'acme: stored certificates loaded');
    for (const name of this.#wildcards()) {
      // ordered now, not at a first visit: a DNS-01 order takes as long as the record takes to be seen
      if (!this.#held.has(name)) this.#obtain(name, 'issued').catch(() => undefined);
    }
    this.#timer = setInterval(() => void this.checkRenewals(), ACME_RENEW_CHECK_INTERVAL_MS);
    this.#timer.unref();
    void this.checkRenewals();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** The https server's SNICallback: a held certificate, or one obtained now for an allowed name. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    this.contextFor(servername).then(
      (ctx) => cb(null, ctx),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };

  /** The key authorization for an open HTTP-01 challenge token (the plain HTTP port answers it). */
  challengeAnswer(token: string): string | undefined {
    return this.#challenges.get(token);
  }

  /** Names with a certificate in use, and when each expires. */
  certificates(): { name: string; notAfter: Date }[] {
    return [...this.#held.values()].map((h) => ({ name: h.stored.name, notAfter: new Date(h.notAfter) }));
  }

  /** The certificate for `servername`, obtaining it when the name is allowed and none is held. */
  async contextFor(servername: string): Promise<SecureContext> {
    const host = servername.toLowerCase().replace(/\.$/, '');
    const wildcard = this.#wildcardFor(host);
    const name = wildcard ?? host;
    const held = this.#held.get(name);
    if (held && held.notAfter > this.#now()) return held.context;
    if (wildcard === undefined && !this.#o.allows(name)) {
      this.#events.inc({ event: 'refused' });
      // debug only: any stranger can send any SNI, the log must not be theirs to fill
      this.#o.logger.debug({ name }, 'acme: no certificate for a name that is not the server nor a tunnel');
      throw new BurrowError('BURROW_ERR_ACME_NAME_REFUSED', name);
    }
    return (await withTimeout(this.#obtain(name, 'issued'), ACME_HANDSHAKE_WAIT_MS, name)).context;
  }

  /**
   * Renew every held certificate that expires within ACME_RENEW_BEFORE_MS (the background task calls
   * it every ACME_RENEW_CHECK_INTERVAL_MS; tests call it with an injected clock). A name that is no
   * longer the server's nor a tunnel's is dropped from memory instead (its files stay).
   */
  async checkRenewals(): Promise<void> {
    const due: string[] = [];
    for (const [name, h] of this.#held) {
      if (h.notAfter - this.#now() > ACME_RENEW_BEFORE_MS) continue;
      if (!isWildcard(name) && !this.#o.allows(name)) {
        this.#held.delete(name);
        continue;
      }
      due.push(name);
    }
    for (const name of due) {
      if (this.#closed) return;
      try {
        await this.#obtain(name, 'renewed');
      } catch {
        // logged and counted by #obtain; the old certificate stays in use until it expires
      }
    }
  }

  #obtain(name: string, kind: 'issued' | 'renewed'): Promise<Held> {
    const running = this.#pending.get(name);
    if (running) return running;
    const now = this.#now();
    const failedUntil = this.#failedUntil.get(name) ?? 0;
    if (failedUntil > now) {
      return Promise.reject(
        new BurrowError(
          'BURROW_ERR_ACME_FAILED',
          `${name}: the last attempt failed, next try in ${Math.ceil((failedUntil - now) / 1000)} s`,
        ),
      );
    }
    if (kind === 'issued') {
      if (!this.#budget.take()) {
        this.#count('rate_limited');
        this.#o.logger.warn(
          { name, limit: ACME_MAX_ISSUANCES_PER_HOUR, code: 'BURROW_ERR_ACME_RATE_LIMITED' },
          'acme: new certificate refused: too many issued this hour',
        );
        return Promise.reject(new BurrowError('BURROW_ERR_ACME_RATE_LIMITED', name));
      }
    }
    const p = this.#order(name).then(
      async (stored) => {
        const h = this.#use(stored);
        await this.store.write(stored);
        this.#failedUntil.delete(name);
        this.#count(kind);
        this.#o.logger.info(
          { name, notAfter: new Date(h.notAfter).toISOString() },
          kind === 'issued' ? 'acme: certificate issued' : 'acme: certificate renewed',
        );
        return h;
      },
      (err: unknown) => {
        this.#failedUntil.set(name, this.#now() + ACME_RETRY_AFTER_FAILURE_MS);
        this.#count('failed');
        const reason = err instanceof Error ? err.message : String(err);
        this.#o.logger.error(
          {
            name,
            renewal: kind === 'renewed',
            reason,
            retryInMs: ACME_RETRY_AFTER_FAILURE_MS,
            code: 'BURROW_ERR_ACME_FAILED',
          },
          isWildcard(name)
            ? 'acme: issuance failed (DNS-01: --acme-dns-hook must set the TXT record where the CA looks; see docs/deployment.md)'
            : 'acme: issuance failed (the DNS record must point here and --http-port must be reachable; see docs/deployment.md)',
        );
        throw new BurrowError('BURROW_ERR_ACME_FAILED', `${name}: ${reason}`, { cause: err });
      },
    );
    this.#pending.set(name, p);
    const done = (): void => void this.#pending.delete(name);
    p.then(done, done);
    return p;
  }

  #order(name: string): Promise<StoredCertificate> {
    if (!isWildcard(name)) return this.#orderHttp01(name);
    const next = this.#dnsQueue.then(() => this.#orderDns01(name));
    this.#dnsQueue = next.catch(() => undefined);
    return next;
  }

  async #orderDns01(name: string): Promise<StoredCertificate> {
    const hook = this.config.dnsHook!;
    const client = await this.#accountClient();
    const acme = await this.#acme();
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, key);
    const record = challengeRecord(name);
    const cert = await client.auto({
      csr,
      email: this.config.email,
      termsOfServiceAgreed: true,
      challengePriority: ['dns-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, _challenge, value) => {
        await runDnsHook(hook, 'set', record, value);
        this.#o.logger.info({ name, record }, 'acme: DNS-01 record set by --acme-dns-hook');
      },
      challengeRemoveFn: async (_authz, _challenge, value) => {
        try {
          await runDnsHook(hook, 'clear', record, value);
        } catch (err) {
          // the certificate does not depend on it: say so and go on
          this.#o.logger.warn({ name, record, reason: String(err) }, 'acme: --acme-dns-hook clear failed');
        }
      },
    });
    return { name, cert, key: key.toString() };
  }

  async #orderHttp01(name: string): Promise<StoredCertificate> {
    const client = await this.#accountClient();
    const acme = await this.#acme();
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, key);
    const cert = await client.auto({
      csr,
      email: this.config.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // the CA's own validation is the check: a self-check through public DNS fails behind NAT and in tests
      skipChallengeVerification: true,
      challengeCreateFn: (_authz, challenge, keyAuthorization) => {
        this.#challenges.set(challenge.token, keyAuthorization);
        return Promise.resolve();
      },
      challengeRemoveFn: (_authz, challenge) => {
        this.#challenges.delete(challenge.token);
        return Promise.resolve();
      },
    });
    return { name, cert, key: key.toString() };
  }

  /** One ACME client per manager, on the stored account key (created and saved on first use). */
  #accountClient(): Promise<AcmeClient.Client> {
    this.#client ??= (async () => {
      const acme = await this.#acme();
      let accountKey = await this.store.readAccountKey();
      if (!accountKey) {
        accountKey = (await acme.crypto.createPrivateEcdsaKey()).toString();
        await this.store.writeAccountKey(accountKey);
        this.#o.logger.info({ where: this.store.where }, 'acme: new account key saved');
      }
      return new acme.Client({ directoryUrl: this.config.directoryUrl, accountKey });
    })();
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }

  /** The wildcard this host is served from (a DNS hook is set and it is one label under a domain). */
  #wildcardFor(host: string): string | undefined {
    if (!this.config.dnsHook) return undefined;
    for (const d of this.#o.domains ?? []) {
      if (host.length > d.length + 1 && host.endsWith(`.${d}`) && !host.slice(0, -d.length - 1).includes('.')) {
        return `*.${d}`;
      }
    }
    return undefined;
  }

  #wildcards(): string[] {
    return this.config.dnsHook ? (this.#o.domains ?? []).map((d) => `*.${d}`) : [];
  }

  #use(stored: StoredCertificate): Held {
    // the first certificate of the chain is the server's (node:crypto reads it without acme-client)
    const notAfter = Date.parse(new X509Certificate(stored.cert).validTo);
    if (Number.isNaN(notAfter)) throw new Error(`unreadable expiry date in the certificate of ${stored.name}`);
    const h: Held = {
      stored,
      context: tls.createSecureContext({ cert: stored.cert, key: stored.key }),
      notAfter,
    };
    this.#held.set(stored.name, h);
    this.#o.onCertificate?.(stored);
    return h;
  }

  #count(event: Outcome): void {
    this.#events.inc({ event });
  }
}

const isWildcard = (name: string): boolean => name.startsWith('*.');

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new BurrowError('BURROW_ERR_ACME_FAILED', `${name}: no certificate within ${ms} ms`)),
      ms,
    );
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
