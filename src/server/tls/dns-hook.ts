/**
 * The DNS-01 hook (--acme-dns-hook CMD): the operator's command that sets and clears the TXT record
 * `_acme-challenge.<domain>` at their DNS provider, so burrow can obtain a wildcard `*.<domain>`
 * certificate (HTTP-01 cannot prove control of a wildcard).
 *
 * The command runs through /bin/sh with three arguments appended — `set|clear RECORD VALUE` — and the
 * same three in BURROW_ACME_ACTION, BURROW_ACME_RECORD and BURROW_ACME_VALUE. `set` must return (exit 0)
 * once the record is visible to the CA's resolvers; `clear` removes that value. The value is public
 * (it ends up in DNS), but the command's output is still cut to ACME_DNS_HOOK_OUTPUT_CHARS in logs.
 */
import { spawn } from 'node:child_process';
import { ACME_DNS_HOOK_OUTPUT_CHARS, ACME_DNS_HOOK_TIMEOUT_MS } from './limits.js';

export type DnsHookAction = 'set' | 'clear';

/** The TXT record name a DNS-01 challenge for `*.<domain>` (or `<domain>`) is answered at. */
export function challengeRecord(domain: string): string {
  return `_acme-challenge.${domain.replace(/^\*\./, '')}`;
}

/**
 * Run the hook once; rejects with a message naming the action, the exit status and the output's tail.
 * The command runs in its own process group: on timeout the whole group is killed (a `sleep` or `curl`
 * the script started does not outlive it).
 */
export function runDnsHook(
  command: string,
  action: DnsHookAction,
  record: string,
  value: string,
  timeoutMs = ACME_DNS_HOOK_TIMEOUT_MS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'acme-dns-hook', action, record, value], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BURROW_ACME_ACTION: action, BURROW_ACME_RECORD: record, BURROW_ACME_VALUE: value },
    });
    let out = '';
    const keep = (c: Buffer): void => {
      out = (out + c.toString()).slice(-2 * ACME_DNS_HOOK_OUTPUT_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    const fail = (why: string): void => {
      const text = out.trim();
      const tail = text.length > ACME_DNS_HOOK_OUTPUT_CHARS ? `…${text.slice(-ACME_DNS_HOOK_OUTPUT_CHARS)}` : text;
      reject(new Error(`--acme-dns-hook ${action} ${record} ${why}${tail ? `: ${tail}` : ''}`));
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      fail(`could not run (${err.message})`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) fail(`did not finish within ${timeoutMs} ms`);
      else if (code === 0) resolve();
      else fail(code !== null ? `exited with status ${code}` : `was killed by ${signal ?? 'a signal'}`);
    });
  });
}
