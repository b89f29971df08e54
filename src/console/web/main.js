// The burrow admin console: sign-in, then the pages over the admin API and the live event stream.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, setCsrf } from './api.js';
import { ErrorBox, html, useAction } from './ui.js';
import { Overview } from './pages/overview.js';
import { Tunnels } from './pages/tunnels.js';
import { Tokens } from './pages/tokens.js';
import { Names } from './pages/names.js';
import { Pipes, Tcp } from './pages/traffic.js';

const PAGES = [
  { id: 'overview', title: 'Overview', Page: Overview },
  { id: 'tunnels', title: 'Tunnels', Page: Tunnels },
  { id: 'tokens', title: 'Tokens', Page: Tokens },
  { id: 'names', title: 'Names & rules', Page: Names },
  { id: 'pipes', title: 'Pipes', Page: Pipes },
  { id: 'tcp', title: 'TCP', Page: Tcp },
];

function pageFromHash() {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.find((p) => p.id === id) ?? PAGES[0];
}

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e) => {
    e.preventDefault();
    void run(async () => {
      const s = await call('POST', '/session', { token });
      setToken('');
      onSignedIn(s);
    });
  };
  return html`<main class="signin" id="main">
    <h1>burrow admin</h1>
    <form onSubmit=${submit} class="card">
      <label for="admin-token">Admin token</label>
      <input
        id="admin-token"
        type="password"
        autocomplete="current-password"
        required
        value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)}
      />
      <p class="hint">
        The server's <code>--admin-token</code> (or <code>BURROW_ADMIN_TOKEN</code>), or a token created with
        <code>--kind admin</code>.
      </p>
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
      <${ErrorBox} error=${error} />
    </form>
  </main>`;
}

/** The live event stream: history for the charts, then one update a second. */
function useLive(onEnded) {
  const [samples, setSamples] = useState([]);
  const [state, setState] = useState(null);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const es = new EventSource('/admin/events');
    es.addEventListener('open', () => setConnected(true));
    es.addEventListener('history', (e) => setSamples(JSON.parse(e.data).history));
    es.addEventListener('tick', (e) => {
      const { sample, state: st } = JSON.parse(e.data);
      setState(st);
      setSamples((prev) => {
        const next = prev.length && prev[prev.length - 1].t === sample.t ? prev : [...prev, sample];
        const cutoff = sample.t - 15 * 60_000;
        return next[0] && next[0].t < cutoff ? next.filter((s) => s.t >= cutoff) : next;
      });
    });
    es.addEventListener('error', () => {
      setConnected(false);
      // the stream ends with the session (sign-out elsewhere, expiry): ask the server
      call('GET', '/session').then(
        (s) => {
          if (!s.signedIn) {
            es.close();
            onEnded();
          }
        },
        () => {},
      );
    });
    return () => es.close();
  }, []);
  return { samples, state, connected };
}

function Console({ session, onSignedOut }) {
  const [page, setPage] = useState(pageFromHash());
  const live = useLive(onSignedOut);
  const heading = useRef(null);
  const { error, run } = useAction();
  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => heading.current?.focus(), [page]);
  const signOut = () =>
    void run(async () => {
      await call('DELETE', '/session');
      onSignedOut();
    });
  const Page = page.Page;
  return html`<div class="layout">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">burrow admin</span>
      <span class="live ${live.connected ? 'on' : 'off'}" role="status"
        >${live.connected ? 'live' : 'reconnecting…'}</span
      >
      <button type="button" class="signout" onClick=${signOut}>Sign out</button>
    </header>
    <nav aria-label="Pages">
      <ul>
        ${PAGES.map(
          (p) =>
            html`<li><a href=${`#/${p.id}`} aria-current=${p.id === page.id ? 'page' : undefined}>${p.title}</a></li>`,
        )}
      </ul>
    </nav>
    <main id="main">
      <h1 tabindex="-1" ref=${heading}>${page.title}</h1>
      <${ErrorBox} error=${error} />
      <${Page} live=${live} session=${session} />
    </main>
  </div>`;
}

function App() {
  const [session, setSession] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    call('GET', '/session').then(
      (s) => {
        if (s.signedIn) setCsrf(s.csrf);
        setSession(s.signedIn ? s : null);
      },
      (err) => {
        setError(err);
        setSession(null);
      },
    );
  }, []);
  if (session === undefined) return html`<main class="signin"><p>Loading…</p></main>`;
  if (session === null) {
    return html`<div>
      <${ErrorBox} error=${error} />
      <${SignIn}
        onSignedIn=${(s) => {
          setCsrf(s.csrf);
          setSession(s);
        }}
      />
    </div>`;
  }
  return html`<${Console}
    session=${session}
    onSignedOut=${() => {
      setCsrf('');
      setSession(null);
    }}
  />`;
}

render(html`<${App} />`, document.getElementById('app'));
