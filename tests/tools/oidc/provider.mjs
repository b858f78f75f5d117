// A real OpenID provider for the single sign-on tests: panva's oidc-provider (installed by
// .ci/run into target/oidc; OIDC_MODULES names its node_modules) with a tiny login form that
// signs in whichever account name is typed, and three clients for the portal:
//   portal          an honest client;
//   portal-aud      its ID tokens are re-signed (with the provider's own key) for another audience;
//   portal-expired  its ID tokens are re-signed (with the provider's own key) already expired;
// so the portal's audience and expiry checks meet genuinely signed tokens that must still fail.
// Prints "ready <issuer>" once it listens. Env: PORT, REDIRECT_URI, POST_LOGOUT_URI, SECRET.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.OIDC_MODULES;
const load = (path) => import(pathToFileURL(join(modules, path)).href);
const { default: Provider } = await load('oidc-provider/lib/index.js');
const jose = await load('jose/dist/webapi/index.js');

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const secret = process.env.SECRET;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const client = (id) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: [process.env.REDIRECT_URI],
  post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [client('portal'), client('portal-aud'), client('portal-expired')],
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-only-cookie-key'] },
  // Scope claims go into the ID token too (the portal reads the user name from it).
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: `Test ${id}` };
      },
    };
  },
});

// Re-signs the ID token of the two dishonest clients with the provider's own key.
provider.use(async (ctx, next) => {
  await next();
  const clientId = ctx.oidc?.client?.clientId;
  const idToken = ctx.body?.id_token;
  if (!idToken || (clientId !== 'portal-aud' && clientId !== 'portal-expired')) return;
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  if (clientId === 'portal-aud') claims.aud = 'another-client';
  if (clientId === 'portal-expired') {
    claims.iat = now - 900;
    claims.exp = now - 300;
  }
  ctx.body = {
    ...ctx.body,
    id_token: await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
      .sign(privateKey),
  };
});

const readBody = (req) =>
  new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });

const page = (uid) => `<!doctype html><html lang="en"><head><title>University sign-in</title></head>
<body><main><h1>University sign-in</h1>
<form method="post" action="/interaction/${uid}/login">
<label for="login">Account</label> <input id="login" name="login" autocomplete="username">
<button id="idp-submit" type="submit">Sign in</button></form></main></body></html>`;

const callback = provider.callback();
createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method !== 'POST') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(page(details.uid));
    }
    const login = new URLSearchParams(await readBody(req)).get('login') || '';
    const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: login }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (err) {
    res.statusCode = 400;
    res.end(String(err));
  }
}).listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
