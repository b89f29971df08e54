/** curl as the pipe's users run it: `curl -T file URL` → `curl URL`, each its own process. */
import { execFile, spawnSync } from 'node:child_process';

/** Skip message when curl is not installed. */
export const NO_CURL = spawnSync('curl', ['--version']).status === 0 ? undefined : 'curl is not installed';

function curl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sSf', ...args], { timeout: 30_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(),
    );
  });
}

/**
 * Sends `file` through the pipe at `url` to one curl receiver. `chunked`: the upload is sent with
 * `Transfer-Encoding: chunked` instead of its Content-Length.
 */
export async function curlThroughPipe(url: string, file: string, opts: { chunked?: boolean } = {}): Promise<void> {
  const send = ['-T', file, ...(opts.chunked ? ['-H', 'Transfer-Encoding: chunked'] : []), url, '-o', '/dev/null'];
  await Promise.all([curl([url, '-o', '/dev/null']), curl(send)]);
}
