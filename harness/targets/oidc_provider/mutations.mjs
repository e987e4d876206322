// Mutations: named, deliberate deviations of the reference target from one requirement each.
// They exist to prove that fapi-harness's negative checks catch a broken server (the mutant
// corpus, harness/targets/mutants.toml). The honest target enables none of them.
//
// Each mutation is a Koa middleware added in front of oidc-provider: it either answers in the
// server's place (a resource server that skips a check) or rewrites what the server answered
// (an authorization response without iss, a re-signed id_token), so that on the wire the target
// behaves exactly like a server with that defect.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import querystring from 'node:querystring';

import {
  SignJWT, calculateJwkThumbprint, compactVerify, decodeJwt, decodeProtectedHeader, importJWK,
} from 'jose';

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
    let token = await new SignJWT(out.claims).setProtectedHeader({ ...out.header, kid: out.kid ?? jwk.kid }).sign(key);
    if (out.breakSignature) {
      const [h, p, s] = token.split('.');
      token = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    }
    return { ...body, id_token: token };
  });
}

// What the last requests carried, for mutations that need it later (a mutant target serves
// one test at a time).
const seen = {};

function s256(value) {
  return crypto.createHash('sha256').update(value).digest('base64url');
}

// Rewrite the query of GET `path` before the server reads it.
function rewriteQuery(path, change) {
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === path) {
      const query = new URLSearchParams(ctx.querystring);
      await change(query, ctx);
      ctx.querystring = query.toString();
    }
    return next();
  };
}

// Run `middlewares` in order, as one.
function chain(...middlewares) {
  return (ctx, next) => {
    const run = (i) => (i === middlewares.length ? next() : middlewares[i](ctx, () => run(i + 1)));
    return run(0);
  };
}

// Wrap a model's static find so that what it loads can be altered.
function patchFind(Model, change) {
  const find = Model.find.bind(Model);
  Model.find = async (...args) => {
    const found = await find(...args);
    if (found) await change(found);
    return found;
  };
}

const passThrough = () => (ctx, next) => next();

// While a token request is served, remember what its form carried (in `seen`), then forget.
function duringTokenRequest(capture) {
  return async (ctx, next) => {
    if (!(ctx.method === 'POST' && ctx.path === '/token')) return next();
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const params = querystring.parse(Buffer.concat(chunks).toString());
    ctx.request.body = params;
    const keys = capture(params);
    try {
      return await next();
    } finally {
      for (const key of keys) delete seen[key];
    }
  };
}

// Replace a value the server issues by a low-entropy alias on the way out, and the alias by
// the real value on the way back in, so the flow still works.
function aliasing(prefix) {
  const real = new Map();
  let n = 0;
  return {
    hide(value) {
      n += 1;
      const alias = `${prefix}${String(n).padStart(4, '0')}`;
      real.set(alias, value);
      return alias;
    },
    reveal(value) {
      return real.get(value) ?? value;
    },
  };
}

// A lenient DPoP resource server for /me: it checks the DPoP proof itself (RFC 9449 4.3, 7.1)
// and serves the token's owner when every check passes except the one named `skip`; when any
// other check fails it leaves the request to oidc-provider (which refuses it).
function lenientDpopResource(skip) {
  const seen = new Set();
  const verify = (proof, jwk, alg) => {
    const [h, p, s] = proof.split('.');
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
    const key = crypto.createPublicKey({ key: pub, format: 'jwk' });
    const data = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s ?? '', 'base64url');
    if (alg === 'ES256') return crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
    if (alg === 'PS256') {
      return crypto.verify('sha256', data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    }
    if (alg === 'EdDSA' || alg === 'Ed25519') return crypto.verify(null, data, key, sig);
    if (alg === 'RS256' && skip === 'rs256') return crypto.verify('sha256', data, key, sig);
    return false;
  };
  const check = async (ctx, provider, proof, token, found) => {
    let header;
    let claims;
    try {
      header = decodeProtectedHeader(proof);
      claims = decodeJwt(proof);
    } catch {
      return skip === 'malformed';
    }
    if (skip !== 'typ' && header.typ !== 'dpop+jwt') return false;
    const jwk = header.jwk && typeof header.jwk === 'object' ? header.jwk : undefined;
    if (!jwk && skip !== 'jwk') return false;
    if (jwk && 'd' in jwk && skip !== 'private-jwk') return false;
    const alg = header.alg ?? (skip === 'alg-missing' ? 'ES256' : undefined);
    if (alg === 'none') {
      if (skip !== 'alg-none') return false;
    } else if (jwk && skip !== 'signature') {
      try {
        if (!verify(proof, jwk, alg)) return false;
      } catch {
        return false;
      }
    }
    if (skip !== 'jti' && typeof claims.jti !== 'string') return false;
    if (skip !== 'jti-replay' && seen.has(claims.jti)) return false;
    if (skip !== 'htm' && claims.htm !== ctx.method) return false;
    if (skip !== 'htu') {
      let htu;
      try { htu = new URL(claims.htu); } catch { return false; }
      const want = new URL(ctx.path, provider.issuer);
      if (`${htu.origin}${htu.pathname}` !== `${want.origin}${want.pathname}`) return false;
    }
    if (skip !== 'iat' && !(typeof claims.iat === 'number' && Math.abs(Date.now() / 1000 - claims.iat) <= 120)) return false;
    const ath = crypto.createHash('sha256').update(token).digest('base64url');
    if (skip !== 'ath' && claims.ath !== ath) return false;
    if (jwk && skip !== 'key-binding') {
      const { d: _d, ...pub } = jwk;
      if (await calculateJwkThumbprint(pub) !== found.jkt) return false;
    }
    seen.add(claims.jti);
    return true;
  };
  return ({ provider }) => async (ctx, next) => {
    if (ctx.path !== '/me') return next();
    const { scheme, token } = authorization(ctx);
    const raw = ctx.req.rawHeaders;
    const proofs = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'dpop') proofs.push(raw[i + 1]);
    if (scheme !== 'dpop' || proofs.length === 0) return next();
    if (proofs.length > 1 && skip !== 'two-headers') return next();
    const found = await findToken(provider, token);
    if (!found?.jkt) return next();
    if (await check(ctx, provider, proofs[0], token, found)) return serveResource(ctx, found);
    return next();
  };
}


// --- client authentication (suites/fapi2_sp/client_auth) ---
// The material reference.py generated for the clients (certificates, private JWKS) lies in
// pki/ next to the events file.
function pkiFile(settings, name) {
  return path.join(path.dirname(settings.eventsFile), 'pki', name);
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

// A valid assertion for `client` (signed with its own private key, aud = issuer, fresh jti).
async function goodAssertion(settings, client) {
  const jwks = JSON.parse(fs.readFileSync(pkiFile(settings, `${client.client_id}.jwks.json`), 'utf8'));
  const [{ alg, kid, ...jwk }] = jwks.keys;
  const key = await importJWK({ ...jwk, use: undefined }, alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: client.client_id, sub: client.client_id, aud: settings.issuer,
    jti: crypto.randomUUID(), iat: now, nbf: now, exp: now + 60,
  }).setProtectedHeader({ alg, kid }).sign(key);
}

// A server that overlooks one defect of client assertions: at PAR and at the token endpoint,
// a private_key_jwt client's assertion (or its absence) that `overlooks` picks is replaced by a
// valid one before the server reads the form, so it authenticates the client anyway.
function lenientClientAssertion(overlooks) {
  return ({ settings }) => async (ctx, next) => {
    if (!(ctx.method === 'POST' && ['/request', '/token'].includes(ctx.path)
      && ctx.is('application/x-www-form-urlencoded'))) return next();
    let params = ctx.request.body; // already read by a mutation before this one
    if (!params || typeof params !== 'object') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      params = querystring.parse(Buffer.concat(chunks).toString());
    }
    const client = settings.clients.find((c) => c.client_id === params.client_id
      && c.token_endpoint_auth_method === 'private_key_jwt');
    if (client) {
      let header;
      let claims;
      try {
        header = params.client_assertion ? decodeProtectedHeader(params.client_assertion) : undefined;
        claims = params.client_assertion ? decodeJwt(params.client_assertion) : undefined;
      } catch { /* a malformed assertion is not what these mutants overlook */ }
      const now = Math.floor(Date.now() / 1000);
      if (await overlooks({ params, header, claims, client, settings, now })) {
        params.client_assertion = await goodAssertion(settings, client);
        params.client_assertion_type = ASSERTION_TYPE;
      }
    }
    ctx.request.body = params;
    return next();
  };
}

// Does the assertion's signature verify with the client's registered key?
async function signatureVerifies({ params, header, client }) {
  if (!header || !['ES256', 'PS256', 'EdDSA'].includes(header.alg)) return false;
  try {
    await compactVerify(params.client_assertion, await importJWK(client.jwks.keys[0], header.alg));
    return true;
  } catch {
    return false;
  }
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
  // --- DPoP code binding and proof of possession at the token endpoint (test_dpop_token.py,
  // test_mtls_token.py) ---
  // PAR ignores a DPoP header that comes without dpop_jkt: the code is not bound to its key.
  par_dpop_proof_not_binding: () => (ctx, next) => rewriteForm('/request', (p) => {
    if (!p.dpop_jkt) delete ctx.req.headers.dpop;
    return p;
  })(ctx, next),
  // PAR drops a dpop_jkt that comes with a DPoP header, so a mismatch between them goes unseen.
  par_dpop_jkt_mismatch_accepted: () => (ctx, next) => rewriteForm('/request', (p) => {
    if (ctx.get('dpop') && p.dpop_jkt) delete p.dpop_jkt;
    return p;
  })(ctx, next),
  // PAR drops a dpop_jkt that comes alone: the code is not bound to that key.
  par_dpop_jkt_ignored: () => (ctx, next) => rewriteForm('/request', (p) => {
    if (!ctx.get('dpop') && p.dpop_jkt) delete p.dpop_jkt;
    return p;
  })(ctx, next),
  // The token endpoint issues an unbound token when the proof of possession is missing: no DPoP
  // header (the client's DPoP requirement and the code's binding are lifted for that request),
  // or no client certificate (the client's certificate binding is lifted).
  token_without_dpop_proof: ({ provider }) => {
    const lifted = [];
    patchFind(provider.Client, (client) => {
      if (seen.tokenWithoutDpop && client.dpopBoundAccessTokens) {
        client.dpopBoundAccessTokens = false;
        lifted.push(client);
      }
    });
    patchFind(provider.AuthorizationCode, (code) => {
      if (seen.tokenWithoutDpop) code.dpopJkt = undefined;
    });
    return async (ctx, next) => {
      if (!(ctx.method === 'POST' && ctx.path === '/token') || ctx.get('dpop')) return next();
      seen.tokenWithoutDpop = true;
      try {
        return await next();
      } finally {
        delete seen.tokenWithoutDpop;
        for (const client of lifted.splice(0)) client.dpopBoundAccessTokens = true;
      }
    };
  },
  token_without_certificate: ({ provider }) => {
    const lifted = [];
    patchFind(provider.Client, (client) => {
      if (seen.tokenWithoutCert && client.tlsClientCertificateBoundAccessTokens) {
        client.tlsClientCertificateBoundAccessTokens = false;
        lifted.push(client);
      }
    });
    return async (ctx, next) => {
      const cert = ctx.socket.getPeerX509Certificate?.();
      if (!(ctx.method === 'POST' && ctx.path === '/token') || cert) return next();
      seen.tokenWithoutCert = true;
      try {
        return await next();
      } finally {
        delete seen.tokenWithoutCert;
        for (const client of lifted.splice(0)) client.tlsClientCertificateBoundAccessTokens = true;
      }
    };
  },

  rs_dpop_two_headers: lenientDpopResource('two-headers'),
  rs_dpop_malformed: lenientDpopResource('malformed'),
  rs_dpop_typ: lenientDpopResource('typ'),
  rs_dpop_alg_missing: lenientDpopResource('alg-missing'),
  rs_dpop_alg_none: lenientDpopResource('alg-none'),
  rs_dpop_jwk: lenientDpopResource('jwk'),
  rs_dpop_signature: lenientDpopResource('signature'),
  rs_dpop_private_jwk: lenientDpopResource('private-jwk'),
  rs_dpop_jti: lenientDpopResource('jti'),
  rs_dpop_jti_replay: lenientDpopResource('jti-replay'),
  rs_dpop_htm: lenientDpopResource('htm'),
  rs_dpop_htu: lenientDpopResource('htu'),
  rs_dpop_iat: lenientDpopResource('iat'),
  rs_dpop_ath: lenientDpopResource('ath'),
  rs_dpop_key_binding: lenientDpopResource('key-binding'),

  // --- resource server and token binding (sender-constraint area, test_resource_server.py,
  // test_dpop_resource.py) ---
  rs_dpop_rs256: lenientDpopResource('rs256'),
  // The resource serves a token sent in the URL query (RFC 6750 2.3), with no Authorization header.
  rs_accepts_token_in_query: ({ provider }) => async (ctx, next) => {
    const value = new URLSearchParams(ctx.querystring).get('access_token');
    if (ctx.path === '/me' && value && !ctx.get('authorization')) {
      const found = await findToken(provider, value);
      if (found) return serveResource(ctx, found);
    }
    return next();
  },
  // Introspection reports a binding other than the one the token has.
  introspection_misreports_binding: () => rewriteJson('/token/introspection', (m) => {
    if (m.cnf && typeof m.cnf === 'object') {
      m.cnf = Object.fromEntries(Object.keys(m.cnf).map((k) => [k, s256(`not-${m.cnf[k]}`)]));
    }
    return m;
  }),

  // --- discovery metadata (each rewrites one member of the discovery document) ---
  metadata_issuer_mismatch: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, issuer: 'https://attacker.example' })),
  metadata_without_par_endpoint: () => rewriteJson('/.well-known/openid-configuration', (m) => { delete m.pushed_authorization_request_endpoint; return m; }),
  metadata_par_endpoint_http: () => rewriteJson('/.well-known/openid-configuration', (m) => ({
    ...m, pushed_authorization_request_endpoint: m.pushed_authorization_request_endpoint.replace(/^https:/, 'http:'),
  })),
  metadata_par_not_required: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, require_pushed_authorization_requests: false })),
  metadata_pkce_plain_only: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, code_challenge_methods_supported: ['plain'] })),
  metadata_hybrid_response_types: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, response_types_supported: ['code id_token', 'id_token'] })),
  metadata_iss_parameter_unsupported: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, authorization_response_iss_parameter_supported: false })),
  metadata_client_secret_basic: () => rewriteJson('/.well-known/openid-configuration', (m) => ({
    ...m, token_endpoint_auth_methods_supported: [...m.token_endpoint_auth_methods_supported, 'client_secret_basic'],
  })),
  metadata_id_token_alg_rs256: () => rewriteJson('/.well-known/openid-configuration', (m) => ({
    ...m, id_token_signing_alg_values_supported: [...m.id_token_signing_alg_values_supported, 'RS256'],
  })),
  metadata_client_auth_alg_hs256: () => rewriteJson('/.well-known/openid-configuration', (m) => ({
    ...m, token_endpoint_auth_signing_alg_values_supported: [...m.token_endpoint_auth_signing_alg_values_supported, 'HS256'],
  })),
  metadata_without_mtls_bound_tokens: () => rewriteJson('/.well-known/openid-configuration', (m) => { delete m.tls_client_certificate_bound_access_tokens; return m; }),
  metadata_without_dpop_algs: () => rewriteJson('/.well-known/openid-configuration', (m) => { delete m.dpop_signing_alg_values_supported; return m; }),
  metadata_scopes_as_string: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, scopes_supported: m.scopes_supported.join(' ') })),
  metadata_unknown_member: () => rewriteJson('/.well-known/openid-configuration', (m) => ({ ...m, pushed_authorisation_request_endpoint: m.pushed_authorization_request_endpoint })),

  // --- PAR ---
  par_request_uri_low_entropy: () => {
    const urn = 'urn:ietf:params:oauth:request_uri:';
    const ids = aliasing(`${urn}aaaaaaaaaaaaaaaaaaaa`);
    return chain(
      rewriteJson('/request', (m) => {
        if (m.request_uri) m.request_uri = ids.hide(m.request_uri);
        return m;
      }),
      rewriteQuery('/auth', (q) => {
        if (q.has('request_uri')) q.set('request_uri', ids.reveal(q.get('request_uri')));
      }),
    );
  },
  par_lifetime_too_long: () => rewriteJson('/request', (m) => ({ ...m, expires_in: m.expires_in ? 3600 : m.expires_in })),
  par_lifetime_understated: () => rewriteJson('/request', (m) => ({ ...m, expires_in: m.expires_in ? 3 : m.expires_in })),
  par_accepts_put: () => (ctx, next) => {
    if (ctx.method === 'PUT' && ctx.path === '/request') ctx.method = 'POST';
    return next();
  },
  par_accepts_request_uri_param: () => rewriteForm('/request', (p) => {
    delete p.request_uri;
    return p;
  }),
  request_uri_reusable: ({ provider }) => {
    patchFind(provider.PushedAuthorizationRequest, (par) => { par.consumed = undefined; });
    return passThrough();
  },
  // A server that uses up the request_uri when the login page first loads: any later visit
  // (a reload, a second browser) is refused, although the first login can still complete.
  request_uri_consumed_on_first_load: () => {
    const loaded = new Set();
    return (ctx, next) => {
      const uri = new URLSearchParams(ctx.querystring).get('request_uri');
      if (ctx.method === 'GET' && ctx.path === '/auth' && uri) {
        if (loaded.has(uri)) {
          ctx.status = 400;
          ctx.type = 'html';
          ctx.body = '<h1>oops! something went wrong</h1><pre>error: invalid_request_uri</pre>';
          return undefined;
        }
        loaded.add(uri);
      }
      return next();
    };
  },
  request_uri_any_client: ({ provider }) => rewriteQuery('/auth', async (q) => {
    const uri = q.get('request_uri');
    if (!uri) return;
    const par = await provider.PushedAuthorizationRequest.find(uri.split(':').pop(), { ignoreExpiration: true });
    const owner = par?.request ? decodeJwt(par.request).client_id : undefined;
    if (owner && owner !== q.get('client_id')) q.set('client_id', owner);
  }),

  // --- authorization request ---
  response_type_downgraded: () => rewriteForm('/request', (p) => ({ ...p, response_type: 'code' })),
  state_from_outside_par: ({ redirectUris }) => chain(
    rewriteQuery('/auth', (q) => { if (q.has('request_uri') && q.has('state')) seen.outerState = q.get('state'); }),
    rewriteCallback(redirectUris, (q) => { if (seen.outerState) q.set('state', seen.outerState); }),
  ),
  nonce_from_outside_par: ({ keys }) => chain(
    rewriteQuery('/auth', (q) => { if (q.has('request_uri') && q.has('nonce')) seen.outerNonce = q.get('nonce'); }),
    resignIdToken(keys, (t) => {
      if (seen.outerNonce) t.claims.nonce = seen.outerNonce;
      return t;
    }),
  ),
  state_truncated: ({ redirectUris }) => rewriteCallback(redirectUris, (q) => {
    if ((q.get('state') || '').length > 64) q.set('state', q.get('state').slice(0, 64));
  }),
  nonce_truncated: ({ keys }) => resignIdToken(keys, (t) => {
    if (typeof t.claims.nonce === 'string') t.claims.nonce = t.claims.nonce.slice(0, 32);
    return t;
  }),
  state_invented: ({ redirectUris }) => rewriteCallback(redirectUris, (q) => {
    if (!q.has('state') && q.has('code')) q.set('state', 'invented-by-server');
  }),
  nonce_invented: ({ keys }) => resignIdToken(keys, (t) => {
    if (t.claims.nonce === undefined) t.claims.nonce = 'invented-by-server';
    return t;
  }),
  scope_order_sensitive: () => rewriteForm('/request', (p) => {
    if (p.scope && !p.scope.startsWith('openid')) p.scope = 'unknown-scope';
    return p;
  }),

  // --- redirect URIs ---
  redirect_uri_unchecked: ({ settings }) => rewriteForm('/request', (p) => {
    const client = settings.clients.find((c) => c.client_id === p.client_id);
    if (client && p.redirect_uri && !client.redirect_uris.includes(p.redirect_uri)) {
      [p.redirect_uri] = client.redirect_uris;
    }
    return p;
  }),
  redirect_uri_optional_in_par: ({ settings }) => rewriteForm('/request', (p) => {
    const client = settings.clients.find((c) => c.client_id === p.client_id);
    if (client && !p.redirect_uri) [p.redirect_uri] = client.redirect_uris;
    return p;
  }),
  redirect_query_dropped: ({ redirectUris }) => rewriteCallback(redirectUris, (q) => {
    q.delete('dummy1');
    q.delete('dummy2');
  }),

  // --- PKCE ---
  pkce_plain_accepted: () => rewriteForm('/request', (p) => {
    if (p.code_challenge_method === 'plain' && p.code_challenge) {
      return { ...p, code_challenge_method: 'S256', code_challenge: s256(p.code_challenge) };
    }
    return p;
  }),
  pkce_verifier_not_required: ({ provider }) => {
    patchFind(provider.AuthorizationCode, (code) => {
      if (seen.inTokenRequest && !seen.verifier) {
        code.codeChallenge = undefined;
        code.codeChallengeMethod = undefined;
      }
    });
    return duringTokenRequest((p) => {
      Object.assign(seen, { inTokenRequest: true, verifier: p.code_verifier });
      return ['inTokenRequest', 'verifier'];
    });
  },
  pkce_verifier_not_checked: ({ provider }) => {
    patchFind(provider.AuthorizationCode, (code) => {
      if (seen.verifier) code.codeChallenge = s256(seen.verifier);
    });
    return duringTokenRequest((p) => {
      seen.verifier = p.code_verifier;
      return ['verifier'];
    });
  },

  // --- authorization codes ---
  code_reusable: ({ provider }) => {
    patchFind(provider.AuthorizationCode, (code) => { code.consumed = undefined; });
    return passThrough();
  },
  code_reuse_keeps_tokens: ({ provider }) => {
    // The in-memory store drops every token of a grant on any revokeByGrantId: silence them all.
    for (const Model of [provider.AccessToken, provider.AuthorizationCode, provider.RefreshToken]) {
      Model.revokeByGrantId = async () => {};
    }
    return passThrough();
  },
  code_not_bound_to_client: ({ provider }) => {
    const rebind = (entity) => { if (seen.tokenClient) entity.clientId = seen.tokenClient; };
    patchFind(provider.AuthorizationCode, rebind);
    patchFind(provider.Grant, rebind);
    return duringTokenRequest((p) => {
      if (p.grant_type === 'authorization_code') seen.tokenClient = p.client_id;
      return ['tokenClient'];
    });
  },
  code_low_entropy: ({ redirectUris }) => {
    const codes = aliasing('code');
    return chain(
      rewriteCallback(redirectUris, (q) => { if (q.has('code')) q.set('code', codes.hide(q.get('code'))); }),
      rewriteForm('/token', (p) => ({ ...p, code: p.code && codes.reveal(p.code) })),
    );
  },
  auth_response_state_in_fragment: ({ redirectUris }) => async (ctx, next) => {
    await next();
    const location = ctx.response.get('location');
    if (!location || !redirectUris.some((uri) => location.startsWith(uri))) return;
    const url = new URL(location);
    if (url.searchParams.has('state')) url.hash = `state=${encodeURIComponent(url.searchParams.get('state'))}`;
    ctx.redirect(url.href);
  },
  auth_response_extra_param: ({ redirectUris }) => rewriteCallback(redirectUris, (q) => q.set('debug_trace', 'on')),

  // --- refresh tokens, id_token and keys (suites/fapi2_sp/{refresh,id_token,keys}) ---
  // A refresh request without client authentication is served: for that request the client is
  // treated as a public one (no assertion from a private_key_jwt client, or no certificate from
  // an mTLS one).
  refresh_without_client_auth: ({ provider }) => {
    const lifted = [];
    patchFind(provider.Client, (client) => {
      const method = client.tokenEndpointAuthMethod;
      const missing = (method === 'private_key_jwt' && !seen.refreshAssertion)
        || (method.endsWith('tls_client_auth') && !seen.refreshCert);
      if (seen.refreshGrant && missing) {
        lifted.push([client, method]);
        client.tokenEndpointAuthMethod = 'none';
      }
    });
    return async (ctx, next) => {
      if (!(ctx.method === 'POST' && ctx.path === '/token')) return next();
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const params = querystring.parse(Buffer.concat(chunks).toString());
      ctx.request.body = params;
      if (params.grant_type !== 'refresh_token') return next();
      Object.assign(seen, {
        refreshGrant: true,
        refreshAssertion: Boolean(params.client_assertion),
        refreshCert: Boolean(ctx.socket.getPeerX509Certificate?.()),
      });
      try {
        return await next();
      } finally {
        for (const name of ['refreshGrant', 'refreshAssertion', 'refreshCert']) delete seen[name];
        for (const [client, method] of lifted.splice(0)) client.tokenEndpointAuthMethod = method;
      }
    };
  },
  // A refresh token (and its grant) is served to whichever client presents it.
  refresh_token_not_bound_to_client: ({ provider }) => {
    const rebind = (entity) => { if (seen.refreshClient) entity.clientId = seen.refreshClient; };
    patchFind(provider.RefreshToken, rebind);
    patchFind(provider.Grant, rebind);
    return duringTokenRequest((p) => {
      if (p.grant_type === 'refresh_token') seen.refreshClient = p.client_id;
      return ['refreshClient'];
    });
  },
  id_token_wrong_at_hash: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, at_hash: 'AAAAAAAAAAAAAAAAAAAAAA' } })),
  id_token_unknown_kid: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, kid: 'not-in-the-jwks' })),
  id_token_long_sub: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, sub: 'u'.repeat(300) } })),
  id_token_old_iat: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, iat: t.claims.iat - 900 } })),
  id_token_without_auth_time: ({ keys }) => resignIdToken(keys, (t) => {
    const { auth_time: _, ...claims } = t.claims;
    return { ...t, claims };
  }),
  id_token_extra_claim: ({ keys }) => resignIdToken(keys, (t) => ({ ...t, claims: { ...t.claims, internal_customer_id: 'c-1234' } })),
  userinfo_sub_mismatch: () => rewriteJson('/me', (body) => ({ ...body, sub: `${body.sub}-other` })),
  jwks_private_member: ({ keys }) => rewriteJson('/jwks', (body) => ({
    ...body,
    keys: body.keys.map((k) => ({ ...k, d: keys.find((x) => x.kid === k.kid)?.d })),
  })),
  jwks_short_rsa_key: () => {
    const short = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    return rewriteJson('/jwks', (body) => ({ ...body, keys: [...body.keys, { ...short, kid: 'short-rsa', use: 'sig', alg: 'PS256' }] }));
  },
  jwks_key_without_kid: () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    return rewriteJson('/jwks', (body) => ({ ...body, keys: [...body.keys, { ...ec, use: 'sig', alg: 'ES256' }] }));
  },
  jwks_unparsable_key: () => rewriteJson('/jwks', (body) => ({
    ...body,
    keys: [...body.keys, { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: 'broken', use: 'sig' }],
  })),

  // --- the user refuses ---
  deny_wrong_error: ({ redirectUris }) => rewriteCallback(redirectUris, (q) => {
    if (q.get('error') === 'access_denied') q.set('error', 'server_error');
  }),

  // --- client assertions (suites/fapi2_sp/client_auth/test_client_assertions.py) ---
  client_assertion_alg_none: lenientClientAssertion(({ header }) => header?.alg === 'none'),
  client_assertion_hs256: lenientClientAssertion(({ header }) => header?.alg?.startsWith('HS')),
  client_assertion_rs256: lenientClientAssertion(({ header }) => header?.alg === 'RS256'),
  client_assertion_expired: lenientClientAssertion(({ claims, now }) => typeof claims?.exp === 'number' && claims.exp <= now),
  client_assertion_without_exp: lenientClientAssertion(({ claims }) => claims && claims.exp === undefined),
  client_assertion_nbf_future: lenientClientAssertion(({ claims, now }) => typeof claims?.nbf === 'number' && claims.nbf > now + 60),
  client_assertion_aud_unchecked: lenientClientAssertion(({ claims, settings }) => claims && claims.aud !== settings.issuer),
  client_assertion_without_sub: lenientClientAssertion(({ claims }) => claims && claims.sub === undefined),
  client_assertion_iss_unchecked: lenientClientAssertion(({ claims, params }) => claims && claims.iss !== params.client_id),
  client_assertion_sub_unchecked: lenientClientAssertion(({ claims, params }) => claims && claims.sub !== undefined && claims.sub !== params.client_id),
  client_assertion_signature_unchecked: lenientClientAssertion(async (a) => a.claims !== undefined
    && ['ES256', 'PS256', 'EdDSA'].includes(a.header?.alg) && !(await signatureVerifies(a))),
  client_assertion_not_required: lenientClientAssertion(({ params }) => params.client_assertion === undefined),
  client_assertion_without_jti: lenientClientAssertion(({ claims }) => claims && claims.jti === undefined),
  client_assertion_type_unchecked: lenientClientAssertion(({ params }) => params.client_assertion !== undefined
    && params.client_assertion_type !== ASSERTION_TYPE),
  client_assertion_replayable: ({ provider }) => {
    provider.ReplayDetection.unique = async () => true;
    return passThrough();
  },

  // --- multi-factor authentication (suites/provider_policy/mfa) ---
  // The id_token claims the MFA acr and two methods whatever the login was (with
  // mfa_prompt_removed: a second factor that is claimed but never asked for).
  id_token_claims_mfa: ({ keys, settings }) => resignIdToken(keys, (t) => ({
    ...t, claims: { ...t.claims, acr: settings.mfa.acr, amr: ['pwd', 'otp'] },
  })),
  // The id_token names another authentication context than the one the login satisfied.
  id_token_acr_wrong: ({ keys }) => resignIdToken(keys, (t) => (t.claims.acr === undefined ? t : {
    ...t, claims: { ...t.claims, acr: 'urn:fapi-harness:pwd' },
  })),
  // The second-factor form is accepted whatever code it carries (the code is not checked).
  mfa_wrong_otp_accepted: ({ provider, settings }) => async (ctx, next) => {
    if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+\/otp$/.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId: details.session.accountId, acr: settings.mfa.acr, amr: ['pwd', 'otp'] },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  },
  // --- provider policy plan: granular access, short-lived tokens, revocation (access) ---
  // RAR entries of a type the server does not define are dropped instead of refused.
  rar_unknown_type_accepted: () => rewriteForm('/request', (params) => {
    if (params.authorization_details === undefined) return params;
    let details;
    try { details = JSON.parse(params.authorization_details); } catch { return params; }
    if (!Array.isArray(details)) return params;
    const known = details.filter((d) => d?.type === 'payment_initiation');
    const { authorization_details: _, ...rest } = params;
    return known.length ? { ...rest, authorization_details: JSON.stringify(known) } : rest;
  }),
  // The token response leaves out the granted authorization_details.
  rar_details_dropped: () => rewriteTokenResponse((body) => {
    const { authorization_details: _, ...rest } = body;
    return rest;
  }),
  // userinfo serves a token that lacks the openid scope (it checks only that the token is live).
  userinfo_without_required_scope: ({ provider }) => async (ctx, next) => {
    if (ctx.method !== 'GET' || ctx.path !== '/me') return next();
    const token = await findToken(provider, authorization(ctx).token);
    if (!token || String(token.scope || '').split(' ').includes('openid')) return next();
    return serveResource(ctx, token);
  },
  // userinfo returns every claim of the account, whatever scopes the token was granted.
  userinfo_ignores_scopes: () => rewriteJson('/me', (body) => (body.sub ? {
    ...body,
    name: `${body.sub} Example`,
    given_name: body.sub,
    family_name: 'Example',
    email: `${body.sub}@example.test`,
    email_verified: true,
  } : body)),
  // The revocation endpoint answers 200 and revokes nothing.
  revocation_noop: () => async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token/revocation') return next();
    ctx.status = 200;
    ctx.body = '';
    return undefined;
  },
  // PAR states a request_uri lifetime of 300 s (within FAPI's 600 s, beyond the policy's 60 s).
  request_uri_long_lived: () => rewriteJson('/request', (body) => (
    typeof body.expires_in === 'number' ? { ...body, expires_in: 300 } : body)),
  // userinfo keeps serving access tokens it issued once they have expired.
  expired_token_accepted: ({ provider }) => {
    const issued = new Map();
    const remember = rewriteTokenResponse((body) => {
      if (body.access_token && body.id_token) issued.set(body.access_token, decodeJwt(body.id_token).sub);
      return body;
    });
    const serveExpired = async (ctx, next) => {
      if (ctx.method !== 'GET' || ctx.path !== '/me') return next();
      const { token } = authorization(ctx);
      if (!issued.has(token) || await provider.AccessToken.find(token)) return next();
      ctx.status = 200;
      ctx.body = { sub: issued.get(token) };
      return undefined;
    };
    return chain(remember, serveExpired);
  },
  // --- per-client FAPI enforcement (suites/provider_policy/downgrade) ---
  // PAR takes a FAPI client's client_secret_basic, client_secret_post or client_secret_jwt
  // authentication, or none at all (no assertion, secret or client certificate): it answers
  // 201 with a request_uri in the server's place, as a server that offers these methods would.
  fapi_client_weak_auth_accepted: ({ settings }) => async (ctx, next) => {
    if (!(ctx.method === 'POST' && ctx.path === '/request'
      && ctx.is('application/x-www-form-urlencoded'))) return next();
    let params = ctx.request.body; // already read by a mutation before this one
    if (!params || typeof params !== 'object') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      params = querystring.parse(Buffer.concat(chunks).toString());
      ctx.request.body = params;
    }
    const header = ctx.get('authorization') || '';
    const basic = header.toLowerCase().startsWith('basic ');
    const clientId = basic
      ? querystring.unescape(Buffer.from(header.slice(6).trim(), 'base64').toString().split(':')[0])
      : params.client_id;
    const controls = new Set(settings.controlClients || []);
    if (!settings.clients.some((c) => c.client_id === clientId) || controls.has(clientId)) return next();
    let alg;
    try {
      alg = params.client_assertion ? decodeProtectedHeader(params.client_assertion).alg : undefined;
    } catch { /* a malformed assertion is not what this mutant overlooks */ }
    const secretJwt = params.client_assertion && alg === 'HS256' && params.client_secret === undefined;
    const none = !basic && !params.client_assertion && params.client_secret === undefined
      && !ctx.socket.getPeerX509Certificate?.();
    if (!(basic || params.client_secret !== undefined || secretJwt || none)) return next();
    ctx.status = 201;
    ctx.body = {
      request_uri: `urn:ietf:params:oauth:request_uri:${crypto.randomBytes(16).toString('base64url')}`,
      expires_in: 60,
    };
    return undefined;
  },
};

// Mutations that change the server's own configuration instead of its traffic:
// configure(config, settings) runs before the Provider is created.
export const CONFIG_MUTATIONS = {
  // @config-mutations (keep this marker: new entries go below it)
  par_not_required: (config, settings) => {
    config.features.pushedAuthorizationRequests.requirePushedAuthorizationRequests = false;
    for (const client of settings.clients) client.require_pushed_authorization_requests = false;
  },
  pkce_not_required: (config) => {
    config.pkce = { ...config.pkce, required: () => false };
  },
  code_long_lived: (config) => {
    config.ttl = { ...config.ttl, AuthorizationCode: 600 };
  },
  grant_kept_on_code_reuse: (config) => {
    config.revokeGrantPolicy = () => false;
  },
  // Refresh tokens, id_token and keys: every refresh rotates the refresh token and the previous
  // one is dead at once (oidc-provider consumes it).
  refresh_token_rotated: (config) => {
    config.rotateRefreshToken = () => true;
  },

  // --- client authentication (suites/fapi2_sp/client_auth) ---
  // oidc-provider without FAPI 2.0's aud rule: it accepts the issuer, the token endpoint URL or
  // the receiving endpoint's URL, as a string or inside an array (RFC 7523 / RFC 9126 practice).
  client_assertion_aud_any_endpoint: (config) => {
    const check = config.assertJwtClientAuthClaimsAndHeader;
    config.assertJwtClientAuthClaimsAndHeader = (ctx, claims, ...rest) => check(ctx, { ...claims, aud: ctx.oidc.issuer }, ...rest);
  },
  // oidc-provider's own iat check only: an iat far in the future passes when there is an exp.
  client_assertion_iat_future: (config) => {
    const check = config.assertJwtClientAuthClaimsAndHeader;
    config.assertJwtClientAuthClaimsAndHeader = (ctx, claims, ...rest) => check(ctx, { ...claims, iat: undefined }, ...rest);
  },
  // tls_client_auth without a certificate: the client is taken to have presented the one it
  // registered (read from pki/), so no certificate at all still authenticates it.
  mtls_auth_without_certificate: (config, settings) => {
    const mtls = config.features.mTLS;
    const { getCertificate, certificateAuthorized, certificateSubjectMatches } = mtls;
    const peer = (ctx) => ctx.socket.getPeerX509Certificate?.();
    const registered = (ctx) => {
      const id = ctx.oidc?.client?.clientId;
      const file = id && pkiFile(settings, `${id}.crt`);
      return file && fs.existsSync(file) ? new crypto.X509Certificate(fs.readFileSync(file)) : undefined;
    };
    mtls.getCertificate = (ctx) => getCertificate(ctx) || registered(ctx);
    mtls.certificateAuthorized = (ctx) => !peer(ctx) || certificateAuthorized(ctx);
    mtls.certificateSubjectMatches = (ctx, ...args) => !peer(ctx) || certificateSubjectMatches(ctx, ...args);
  },
  // No allowance for clock offsets: a JWT whose iat or nbf is a few seconds ahead is refused.
  jwt_no_clock_skew: (config) => {
    config.clockTolerance = 0;
  },
  // tls_client_auth that does not check the certificate chains to the trusted CA.
  mtls_auth_any_issuer: (config) => {
    config.features.mTLS.certificateAuthorized = () => true;
  },
  // tls_client_auth that does not compare the certificate's subject with the registered one.
  mtls_auth_subject_unchecked: (config) => {
    config.features.mTLS.certificateSubjectMatches = () => true;
  },

  // --- multi-factor authentication and consent (suites/provider_policy/mfa, consent) ---
  // No second-factor prompt: a request for the MFA acr is served by the password login alone.
  mfa_prompt_removed: (config) => {
    config.interactions.policy.remove('mfa');
  },
  // Consent is never asked: every authorization gets a grant of what it requested at once.
  consent_skipped: (config) => {
    config.loadExistingGrant = async (ctx) => {
      const { provider, client, session } = ctx.oidc;
      const existing = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (existing) return provider.Grant.find(existing);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
      await grant.save();
      return grant;
    };
  },
  // --- provider policy plan: granular access, short-lived tokens, revocation (access) ---
  // The payments scope and payment_initiation tokens live as long as any other (300 s).
  short_lived_scope_long: (config) => {
    config.ttl = { ...config.ttl, AccessToken: 300 };
  },
  // Every access token lives two hours.
  access_token_long_lived: (config) => {
    config.ttl = { ...config.ttl, AccessToken: 7200 };
  },
  // payment_initiation accepts any object of its type (no required or known members).
  rar_type_validation_off: (config) => {
    const { types } = config.features.richAuthorizationRequests;
    types.payment_initiation = { ...types.payment_initiation, validate() {} };
  },
  // --- per-client FAPI enforcement (suites/provider_policy/downgrade) ---
  // The FAPI 2.0 profile is off for every client (the per-client switch is not applied): PKCE,
  // which the server requires per client of FAPI clients only, is no longer required.
  fapi_profile_off: (config) => {
    config.features.fapi = { ...config.features.fapi, profile: () => undefined };
  },
  // FAPI clients may register http redirect URIs: each gets the http twin of its https one.
  fapi_clients_http_redirect: (config, settings) => {
    const controls = new Set(settings.controlClients || []);
    for (const client of settings.clients) {
      if (controls.has(client.client_id)) continue;
      client.redirect_uris = [
        ...client.redirect_uris,
        ...client.redirect_uris.map((uri) => uri.replace(/^https:/, 'http:')),
      ];
    }
  },
};

// Mutations of the HTTPS server's TLS settings (TLS probes, suites/fapi2_sp/tls):
// configure(tlsOptions) runs before the server is created. Security level 0 lets node's
// OpenSSL use what its defaults refuse.
export const TLS_MUTATIONS = {
  // TLS 1.1 accepted (with a SHA-1 CBC suite, the kind TLS 1.1 needs).
  tls_allows_tls11: (options) => {
    options.minVersion = 'TLSv1.1';
    options.ciphers = `${options.ciphers}:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0`;
  },
  // A TLS 1.2 CBC suite that BCP 195 does not recommend, on every endpoint.
  tls12_cbc_suite: (options) => {
    options.ciphers = `${options.ciphers}:ECDHE-ECDSA-AES128-SHA256`;
  },
  // A TLS 1.2 suite without encryption (NULL), which BCP 195 forbids even for browsers.
  tls12_null_suite: (options) => {
    options.ciphers = `${options.ciphers}:ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0`;
  },
};

export function configureTls(names, options) {
  for (const name of names) {
    TLS_MUTATIONS[name]?.(options);
  }
}

export function configureMutations(names, config, settings) {
  for (const name of names) {
    CONFIG_MUTATIONS[name]?.(config, settings);
  }
}

export function applyMutations(names, context) {
  for (const name of names) {
    if (CONFIG_MUTATIONS[name] || TLS_MUTATIONS[name]) continue;
    const make = MUTATIONS[name];
    if (!make) throw new Error(`unknown mutation: ${name}`);
    context.provider.use(make(context));
  }
}
