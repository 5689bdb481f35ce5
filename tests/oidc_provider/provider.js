// A real OpenID provider for Relay's single sign-on tests: panva's certified oidc-provider on
// a loopback port. Usage: node provider.js PORT. It prints "ready <issuer>" once listening.
//
// - Clients register themselves (RFC 7591 dynamic registration at /reg, no initial token):
//   each test registers one for its Relay's redirect URI.
// - Accounts: any account id is an email address; its claims are email, email_verified, name
//   and the two claims Relay may read a team and a site from, `department` and `office`,
//   which /test/account sets (with any other claim) for an account id.
// - Sign-in is a one-field form at /interaction/:uid: type the account id, press Sign in.
//   Consent is granted at once (a company's own application).
// - /test/clock?skew=SECONDS makes the token endpoint issue tokens with a clock that far off,
//   as an identity provider whose clock is wrong does.
import http from 'node:http';
import { URL } from 'node:url';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}`;
const accounts = new Map(); // id -> extra claims set by /test/account
let skewSeconds = 0;
let skewActive = false;

const realNow = Date.now;
Date.now = () => realNow() + (skewActive ? skewSeconds * 1000 : 0);

function claimsOf(id) {
  const extra = accounts.get(id) || {};
  const local = id.split('@')[0] || id;
  const name = local.split(/[._-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
  return { sub: id, email: id, email_verified: true, name, ...extra };
}

const provider = new Provider(issuer, {
  clients: [],
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => claimsOf(id) }),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'department', 'office'],
  },
  conformIdTokenClaims: false, // put the scopes' claims in the ID token, as most IdPs do
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['relay-test-oidc-provider'] },
  pkce: { required: () => true },
  ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Error</title><p>${out.error}: ${out.error_description || ''}</p>`;
  },
});

// Tokens are signed with the skewed clock only while the token endpoint answers.
provider.use(async (ctx, next) => {
  if (ctx.path === '/token') {
    skewActive = true;
    try {
      await next();
    } finally {
      skewActive = false;
    }
  } else {
    await next();
  }
});

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session, uid } = details;
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } });
  }
  if (req.method === 'POST') {
    const form = await readForm(req);
    const login = (form.get('login') || '').trim();
    if (login) {
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
  }
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Test identity provider</title></head><body><main><h1>Test identity provider</h1>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="login">Account</label> <input id="login" name="login" type="email" autocomplete="username" required>
<button type="submit">Sign in</button></form></main></body></html>`);
  return undefined;
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname.startsWith('/interaction/')) {
      await interaction(req, res);
      return;
    }
    if (url.pathname === '/test/clock' && req.method === 'POST') {
      skewSeconds = Number(url.searchParams.get('skew') || 0);
      res.end('ok');
      return;
    }
    if (url.pathname === '/test/account' && req.method === 'POST') {
      const form = await readForm(req);
      const id = form.get('id');
      const extra = {};
      for (const [key, value] of form) if (key !== 'id') extra[key] = value;
      accounts.set(id, extra);
      res.end('ok');
      return;
    }
  } catch (error) {
    res.statusCode = 400;
    res.end(String(error));
    return;
  }
  callback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
