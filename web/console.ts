/// <reference lib="dom" />
/**
 * The operator console served at GET /: manual sync, jobs, dead letters, CDC status and verify over the
 * manual-sync API. Plain TypeScript, bundled by web/build.ts into shared/manual/web-page.ts.
 *
 * Start-up: GET /auth-config (no authentication) says how the API is protected. With a JWT
 * authorizer the page signs in (OIDC code + PKCE) before anything else; with IAM it tries the catalog
 * unsigned (locally there is no authorizer) and, when refused, says to use the CLI. Any other failure
 * is shown with the API's message: the page never goes blank.
 */
import { ApiError, api, configureApi, errorText } from './api';
import { beginSignIn, claimsOf, completeSignIn, currentToken, signOut } from './auth';
import { initDeadLetters } from './dead-letters';
import { byId, fill, h, notice } from './dom';
import { initJobs } from './jobs';
import { initStatus } from './status';
import { initSync } from './sync';
import type { AuthConfig, Catalog } from './types';
import { initVerify } from './verify';

const TABS = ['sync', 'jobs', 'dead-letters', 'status', 'verify'] as const;
type Tab = (typeof TABS)[number];

const banner = byId('banner');

function gate(...content: (Node | string)[]): void {
  byId('tabs').hidden = true;
  byId('main').hidden = true;
  const g = byId('gate');
  fill(g, ...content);
  g.hidden = false;
  g.querySelector<HTMLElement>('h2')?.focus();
}

function iamGate(detail?: string): void {
  gate(
    h('h2', { tabindex: '-1' }, 'Sign-in happens outside the browser'),
    h(
      'p',
      { class: 'lead', id: 'iam-message' },
      'This API uses IAM (SigV4): use the CLI ',
      h('code', null, 'npx cdc-mirror …'),
    ),
    h(
      'p',
      null,
      'A browser cannot sign requests with AWS credentials. From a shell that has them (aws sso login, a role, or environment variables), run for example:',
    ),
    h('pre', null, 'npx cdc-mirror sync --source shop_online --table shop.t_config --where "id < 10"'),
    detail ? h('p', { class: 'muted' }, `The API answered: ${detail}`) : '',
  );
}

function signInGate(auth: AuthConfig, problem?: string): void {
  const button = h('button', { type: 'button', class: 'primary', id: 'sign-in' }, 'Sign in');
  const message = h('div');
  button.addEventListener('click', () => {
    button.disabled = true;
    beginSignIn(auth).catch((err: unknown) => {
      button.disabled = false;
      fill(message, notice('error', (err as Error).message));
    });
  });
  gate(
    h('h2', { tabindex: '-1' }, 'Sign in'),
    h(
      'p',
      null,
      'This API accepts tokens from ',
      h('code', null, auth.issuer ?? '(no issuer configured)'),
      '.',
    ),
    problem ? notice('error', problem) : '',
    h('div', { class: 'actions' }, button),
    message,
  );
}

function showWho(auth: AuthConfig | null): void {
  const who = byId('who');
  const token = currentToken();
  if (auth?.type !== 'jwt' || !token) return;
  const claims = claimsOf(token) ?? {};
  const name = [claims.email, claims.preferred_username, claims.sub].find((x) => typeof x === 'string') as
    | string
    | undefined;
  const out = h('button', { type: 'button', class: 'small' }, 'Sign out');
  out.addEventListener('click', () => {
    signOut();
    signInGate(auth);
    fill(who);
  });
  fill(who, h('span', null, 'Signed in as ', h('strong', null, name ?? 'unknown')), ' ', out);
}

function setupTabs(onShow: (tab: Tab) => void): (tab: Tab) => void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (tab: Tab, focus = false) => {
    for (const t of tabs) {
      const on = t.dataset.tab === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      byId(`panel-${t.dataset.tab}`).hidden = !on;
      if (on && focus) t.focus();
    }
    if (window.location.hash !== `#${tab}`) window.history.replaceState(null, '', `#${tab}`);
    onShow(tab);
  };
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => select(t.dataset.tab as Tab));
    t.addEventListener('keydown', (e) => {
      const to =
        e.key === 'ArrowRight'
          ? (i + 1) % tabs.length
          : e.key === 'ArrowLeft'
            ? (i - 1 + tabs.length) % tabs.length
            : e.key === 'Home'
              ? 0
              : e.key === 'End'
                ? tabs.length - 1
                : -1;
      if (to < 0) return;
      e.preventDefault();
      select(tabs[to]?.dataset.tab as Tab, true);
    });
  });
  return select;
}

async function main(): Promise<void> {
  let auth: AuthConfig | null = null;
  configureApi({
    token: currentToken,
    onUnauthorized: () => {
      if (auth?.type === 'jwt') {
        signOut();
        signInGate(auth, 'Your sign-in has expired or was refused: sign in again.');
      } else iamGate('HTTP 401');
    },
  });

  // How the API is protected: a route that needs no authentication.
  try {
    auth = (await api<AuthConfig>('GET', 'auth-config', { auth: false })).body;
  } catch (err) {
    fill(
      banner,
      notice(
        'warn',
        'Could not learn how the API signs requests in (',
        errorText(err),
        '): trying without signing in.',
      ),
    );
  }

  if (auth?.type === 'jwt') {
    try {
      if (await completeSignIn()) fill(banner, notice('ok', 'Signed in.'));
    } catch (err) {
      signInGate(auth, (err as Error).message);
      return;
    }
    if (!currentToken()) {
      signInGate(auth);
      return;
    }
    showWho(auth);
  }

  let catalog: Catalog | null = null;
  try {
    catalog = (await api<Catalog>('GET', 'catalog')).body;
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 0;
    if (status === 401 && auth?.type === 'jwt') return; // onUnauthorized showed the sign-in
    if ((status === 401 || status === 403) && auth?.type !== 'jwt') {
      iamGate(errorText(err));
      return;
    }
    fill(
      banner,
      notice(
        'error',
        h('strong', null, 'Could not load the catalog. '),
        errorText(err),
        '. Sources and tables are not listed: type them; the other sections work as far as the API answers.',
      ),
    );
  }

  const jobs = initJobs();
  const deadLetters = initDeadLetters(catalog);
  const loaded = new Set<Tab>();
  let select: (tab: Tab) => void = () => undefined;
  const status = initStatus((target) => {
    const t = byId<HTMLSelectElement>('dl-target');
    if ([...t.options].some((o) => o.value === target)) t.value = target;
    byId<HTMLSelectElement>('dl-status').value = 'open';
    loaded.add('dead-letters');
    select('dead-letters');
    void deadLetters.load();
  });
  initSync(catalog, (jobId) => {
    loaded.add('jobs');
    select('jobs');
    void jobs.load();
    void jobs.open(jobId);
  });
  initVerify(catalog);
  select = setupTabs((tab) => {
    if (loaded.has(tab)) return;
    loaded.add(tab);
    if (tab === 'jobs') void jobs.load();
    if (tab === 'dead-letters') void deadLetters.load();
    if (tab === 'status') void status.load();
  });
  const initial = window.location.hash.slice(1);
  select(TABS.includes(initial as Tab) ? (initial as Tab) : 'sync');
  document.body.dataset.ready = 'true';
}

main().catch((err: unknown) => {
  fill(banner, notice('error', h('strong', null, 'The console failed to start. '), errorText(err)));
  document.body.dataset.ready = 'error';
});
