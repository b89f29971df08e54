/**
 * The pipe cheat sheet: copy-pasteable recipes with one server's URL filled in. The same text is
 * `GET /help` (bare mounts), `GET /api/v1/pipe/help`, and `burrow pipe help-cheatsheet --server URL`.
 * test/compat/pipe/cheatsheet.test.ts runs every curl line of it against a live server.
 */

export interface CheatSheetRecipe {
  readonly title: string;
  /** Shell lines; `#` lines are comments. */
  readonly lines: readonly string[];
}

export interface CheatSheetOptions {
  /** The service forward-tcp reaches on the target machine (default 22, SSH). */
  readonly targetPort?: number;
  /** The local port forward-tcp listens on (default 2222). */
  readonly localPort?: number;
  readonly version?: string;
}

/** `'…'` for a shell, when the URL has characters a shell would read. */
function q(url: string): string {
  return /^[A-Za-z0-9:/._~%-]+$/.test(url) ? url : `'${url.replace(/'/g, `'\\''`)}'`;
}

/** The recipes for the pipe at `base` (`https://host/api/v1/pipe` or `http://host:port`). */
export function cheatSheetRecipes(base: string, o: CheatSheetOptions = {}): CheatSheetRecipe[] {
  const url = base.replace(/\/+$/, '');
  const at = (path: string): string => q(`${url}/${path}`);
  const target = o.targetPort ?? 22;
  const local = o.localPort ?? 2222;
  return [
    {
      title: 'Send a file, receive it (either side may start first)',
      lines: [`curl -T myfile ${at('mypath')}`, `curl ${at('mypath')} > myfile`],
    },
    {
      title: 'Send text from a command',
      lines: [`echo 'hello!' | curl -T - ${at('mytext')}`, `curl ${at('mytext')}`],
    },
    {
      title: 'Fan out to 3 receivers (every side says ?n=3)',
      lines: [`curl -T myfile ${at('myfan?n=3')}`, `curl ${at('myfan?n=3')} > myfile   # on each of the 3 receivers`],
    },
    {
      title: 'Watch a transfer (Server-Sent Events; a live dashboard in a browser)',
      lines: [`curl -N ${at('mypath?progress')}`],
    },
    {
      title: 'A folder, as a tar stream',
      lines: [`tar czf - ./mydir | curl -T - ${at('mydir.tgz')}`, `curl ${at('mydir.tgz')} | tar xzf -`],
    },
    {
      title: 'Encrypted on the fly with gpg (drop --batch --passphrase … to be asked)',
      lines: [
        `gpg -c --batch --passphrase 'my long secret' -o - myfile | curl -T - ${at('mygpg')}`,
        `curl ${at('mygpg')} | gpg -d --batch --passphrase 'my long secret' -o myfile`,
      ],
    },
    {
      title: 'Encrypted on the fly with openssl',
      lines: [
        `openssl enc -aes-256-cbc -pbkdf2 -pass pass:mysecret -in myfile | curl -T - ${at('myssl')}`,
        `curl ${at('myssl')} | openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:mysecret > myfile`,
      ],
    },
    {
      title: 'Live video: send a WebM stream, watch it in a browser',
      lines: [
        `ffmpeg -re -i input.webm -c copy -f webm - | curl -T - ${at('live')}`,
        `# open ${url}/live?video in a browser (VLC or mpv: ${url}/live)`,
      ],
    },
    {
      title: 'Upload from a browser without JavaScript',
      lines: [`# open ${url}/noscript?path=mypath in a browser, then: curl ${at('mypath')} > myfile`],
    },
    {
      title: `TCP (SSH) over a pair of pipes: burrow on both sides, many connections`,
      lines: [
        `burrow pipe forward-tcp --target localhost:${target} ssh-up ssh-down --server ${q(url)}   # where the service runs`,
        `burrow pipe forward-tcp --listen ${local} ssh-up ssh-down --server ${q(url)}   # on your machine`,
        `# then: ssh -p ${local} user@localhost`,
      ],
    },
    {
      title: 'The same with curl and nc only (one connection; mixes with burrow on the other side)',
      lines: [
        `curl -sSN ${at('ssh-up')} | nc localhost ${target} | curl -sST - ${at('ssh-down')}   # where the service runs`,
        `curl -sSN ${at('ssh-down')} | nc -l ${local} | curl -sST - ${at('ssh-up')}   # on your machine`,
      ],
    },
  ];
}

/** The sheet as text (ASCII). */
export function cheatSheet(base: string, o: CheatSheetOptions = {}): string {
  const url = base.replace(/\/+$/, '');
  const head = `burrow pipe cheat sheet for ${url}${o.version ? ` (burrow ${o.version})` : ''}
Zero-storage, piping-server compatible: a sender PUTs a path, receivers GET it, bytes stream
through and are never stored. Pick a hard-to-guess path; the path is the secret.
With a server that wants a token, add -H 'Authorization: Bearer TOKEN' to each curl.
`;
  const body = cheatSheetRecipes(url, o)
    .map((r) => `\n## ${r.title}\n${r.lines.join('\n')}\n`)
    .join('');
  // eslint-disable-next-line no-control-regex
  return `${head}${body}`.replace(/[^\x00-\x7f]/g, '?');
}
