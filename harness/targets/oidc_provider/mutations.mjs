// Mutations: named, deliberate deviations of the reference target from one requirement each.
// They exist to prove that fapi-harness's negative checks catch a broken server (the mutant
// corpus, harness/targets/mutants.toml). The honest target enables none of them.
//
// Each mutation is a Koa middleware added in front of oidc-provider: it either answers in the
// server's place (a resource server that skips a check) or rewrites what the server answered
// (an authorization response without iss, a re-signed id_token), so that on the wire the target
// behaves exactly like a server with that defect.

import crypto from 'node:crypto';
import querystring from 'node:querystring';

import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';

function authorization(ctx) {
  const [scheme, ...rest] = (ctx.get('authorization') || '').split(' ');
  return { scheme: scheme.toLowerCase(), token: rest.join(' ').trim() };
}

// A resource server that serves the token's owner once the token is found and not expired.
function serveResource(ctx, token) {
  ctx.status = 200;
  ctx.body = { sub: token.accountId };
}

async function findToken(provider, value) {
  if (!value) return undefined;
  const token = await provider.AccessToken.find(value);
  return token && !token.isExpired ? token : undefined;
}

function bodyObject(ctx) {
  if (typeof ctx.body === 'string') {
    try { return JSON.parse(ctx.body); } catch { return undefined; }
  }
  return ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : undefined;
}

// Rewrite a form POST to `path` before the server reads it (oidc-provider then takes the
// already-parsed body): the server behaves as if it had been lenient with that input.
function rewriteForm(path, change) {
  return async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === path && ctx.is('application/x-www-form-urlencoded')) {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const params = querystring.parse(Buffer.concat(chunks).toString());
      ctx.request.body = change(params) ?? params;
    }
    return next();
  };
}

// Rewrite a JSON response of `path` (discovery, PAR, …) after the server produced it.
function rewriteJson(path, change) {
  return async (ctx, next) => {
    await next();
    if (ctx.path !== path) return;
    const body = bodyObject(ctx);
    if (body) ctx.body = change({ ...body }, ctx) ?? body;
  };
}

function rewriteCallback(redirectUris, change) {
  return async (ctx, next) => {
    await next();
    const location = ctx.response.get('location');
    if (!location || !redirectUris.some((uri) => location.startsWith(uri))) return;
    const url = new URL(location);
    change(url.searchParams);
    ctx.redirect(url.href);
  };
}

function rewriteTokenResponse(change) {
  return async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200) return;
    const body = bodyObject(ctx);
    if (body) ctx.body = await change(body, ctx) ?? body;
  };
}

function resignIdToken(keys, change) {
  return rewriteTokenResponse(async (body) => {
    if (!body.id_token) return body;
    const header = decodeProtectedHeader(body.id_token);
    const claims = decodeJwt(body.id_token);
    const out = await change({ header: { ...header }, claims: { ...claims } });
    const { alg } = out.header;
    const jwk = keys.find((k) => k.alg === alg)
      || keys.find((k) => (alg.startsWith('RS') ? k.kty === 'RSA' : k.kid === header.kid));
    const key = await importJWK({ ...jwk, alg: undefined }, alg);
    let token = await new SignJWT(out.claims).setProtectedHeader({ ...out.header, kid: jwk.kid }).sign(key);
    if (out.breakSignature) {
      const [h, p, s] = token.split('.');
      token = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    }
    return { ...body, id_token: token };
  });
}

export const MUTATIONS = {
  // --- resource server: sender constraint not enforced ---
  rs_accepts_dpop_token_without_proof: ({ provider }) => async (ctx, next) => {
    const { scheme, token } = authorization(ctx);
    if (ctx.path === '/me' && scheme === 'dpop' && !ctx.get('dpop')) {
      const found = await findToken(provider, token);
      if (found?.jkt) return serveResource(ctx, found);
    }
    return next();
  },
  rs_accepts_dpop_token_as_bearer: ({ provider }) => async (ctx, next) => {
    const { scheme, token } = authorization(ctx);
    if (ctx.path === '/me' && scheme === 'bearer') {
      const found = await findToken(provider, token);
      if (found?.jkt) return serveResource(ctx, found);
    }
    return next();
  },
  rs_ignores_certificate_binding: ({ provider }) => async (ctx, next) => {
    const { scheme, token } = authorization(ctx);
    if (ctx.path === '/me' && scheme === 'bearer') {
      const found = await findToken(provider, token);
      if (found?.['x5t#S256']) return serveResource(ctx, found);
    }
    return next();
  },

  // --- authorization response ---
  auth_response_without_iss: ({ redirectUris }) => rewriteCallback(redirectUris, (q) => q.delete('iss')),
  auth_response_wrong_iss: ({ redirectUris }) => rewriteCallback(
    redirectUris, (q) => { if (q.has('iss')) q.set('iss', 'https://attacker.example'); },
  ),
  auth_response_state_altered: ({ redirectUris }) => rewriteCallback(
    redirectUris, (q) => { if (q.has('state')) q.set('state', `${q.get('state')}x`); },
  ),

  // --- token response ---
  token_response_cacheable: () => async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200) {
      ctx.remove('cache-control');
      ctx.remove('pragma');
      ctx.set('cache-control', 'max-age=300');
    }
  },
  token_type_bearer_for_dpop: () => rewriteTokenResponse((body) => (
    body.token_type === 'DPoP' ? { ...body, token_type: 'Bearer' } : body
  )),
  token_response_without_expires_in: () => rewriteTokenResponse(({ expires_in: _, ...rest }) => rest),

  // --- id_token ---
  id_token_without_nonce: ({ keys }) => resignIdToken(keys, (t) => {
    delete t.claims.nonce;
    return t;
  }),
  id_token_wrong_aud: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, aud: 'someone-else' } })),
  id_token_wrong_iss: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, iss: 'https://attacker.example' } })),
  id_token_expired: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, exp: t.claims.iat - 600 } })),
  id_token_signed_rs256: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, header: { ...t.header, alg: 'RS256' } })),
  id_token_bad_signature: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, breakSignature: true })),

  // @traffic-mutations (keep this marker: new entries go below it)
};

// Mutations that change the server's own configuration instead of its traffic:
// configure(config, settings) runs before the Provider is created.
export const CONFIG_MUTATIONS = {
  // @config-mutations (keep this marker: new entries go below it)
};

export function configureMutations(names, config, settings) {
  for (const name of names) {
    CONFIG_MUTATIONS[name]?.(config, settings);
  }
}

export function applyMutations(names, context) {
  for (const name of names) {
    if (CONFIG_MUTATIONS[name]) continue;
    const make = MUTATIONS[name];
    if (!make) throw new Error(`unknown mutation: ${name}`);
    context.provider.use(make(context));
  }
}
