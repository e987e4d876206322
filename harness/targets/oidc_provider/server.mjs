// The fapi-harness reference target: panva's oidc-provider configured as a FAPI 2.0
// Security Profile authorization server (and userinfo as its protected resource).
//
// Usage: node server.mjs <settings.json>
// The settings file is written by harness/targets/reference.py: issuer, port, TLS file paths,
// the static clients and the file that receives the server's error events as JSON lines.
// Writes {"ready": true, ...} to settings.readyFd (else stdout) once it listens; stops on SIGTERM
// or SIGINT. stdout and stderr go to the launcher's server.log.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

import { applyMutations, configureMutations, configureTls } from './mutations.mjs';

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const started = Date.now();

function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, alg: 'PS256', use: 'sig', kid: crypto.randomUUID() },
    { ...ec, alg: 'ES256', use: 'sig', kid: crypto.randomUUID() },
  ];
}

// RFC 4514 DN ("CN=a,O=b,C=GB") against node's subject ("C=GB\nO=b\nCN=a"): compare as sets.
function dnSet(dn, separator) {
  return new Set(dn.split(separator).map((part) => part.trim()).filter(Boolean)
    .map((part) => {
      const i = part.indexOf('=');
      return `${part.slice(0, i).trim().toUpperCase()}=${part.slice(i + 1).trim()}`;
    }));
}

function sameDn(rfc4514, nodeSubject) {
  const a = dnSet(rfc4514, ',');
  const b = dnSet(nodeSubject, '\n');
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const events = fs.openSync(settings.eventsFile, 'a');
function logEvent(record) {
  fs.writeSync(events, `${JSON.stringify({ ts: Date.now() / 1000, ...record })}\n`);
}

const keys = signingKeys();

// --- multi-factor authentication (provider_policy/mfa) ---
// A second factor, a TOTP code (RFC 6238: HMAC-SHA-1, 30 s steps, 6 digits) from a secret
// reference.py generates per run, is asked for only when the request asks for the MFA acr
// (acr_values, or the claims parameter's id_token acr). Completing it logs the user in again
// with acr = the MFA value and amr = ["pwd", "otp"]; a wrong code or an abort ends the
// authorization with access_denied. The secret is never logged.
const mfa = settings.mfa || {};
const MFA_ACR = mfa.acr;

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).padStart(6, '0');
}

function totpValid(secret, code) {
  const now = Math.floor(Date.now() / 1000 / 30);
  return typeof code === 'string' && [-1, 0, 1].some((d) => totp(secret, now + d) === code);
}

// True when the request asks for the MFA acr (acr_values or the claims parameter).
function mfaRequested(ctx) {
  const acr = ctx.oidc.claims?.id_token?.acr;
  if (!MFA_ACR || !acr) return false;
  const wanted = Array.isArray(acr.values) ? acr.values : [acr.value];
  return wanted.includes(MFA_ACR);
}

function interactionPolicyWithMfa() {
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  if (!MFA_ACR) return policy;
  // The login prompt's essential-acr checks would ask for the password again; the mfa prompt
  // below obtains the MFA acr instead.
  const login = policy.get('login');
  for (const reason of ['essential_acrs', 'essential_acr']) {
    const i = login.checks.findIndex((c) => c.reason === reason);
    const original = login.checks[i];
    login.checks[i] = new Check(
      original.reason,
      original.description,
      original.error,
      (ctx) => (mfaRequested(ctx) ? Check.NO_NEED_TO_PROMPT : original.check(ctx)),
      original.details,
    );
  }
  policy.add(new Prompt(
    { name: 'mfa', requestable: false },
    () => ({ acr: MFA_ACR }),
    new Check('mfa_required', 'a second authentication factor is required', (ctx) => (
      mfaRequested(ctx) && ctx.oidc.acr !== MFA_ACR ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT
    )),
  ), policy.findIndex((p) => p.name === 'login') + 1);
  return policy;
}

const OTP_PAGE = (uid) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Second factor</title></head>
<body><h1>Second factor</h1>
<p>Enter the 6-digit code from your authenticator app.</p>
<form method="post" action="/interaction/${uid}/otp" autocomplete="off">
<input type="hidden" name="prompt" value="mfa">
<input type="text" name="otp" inputmode="numeric" autocomplete="one-time-code" required autofocus>
<button type="submit">Verify</button>
</form>
<a href="/interaction/${uid}/abort">Cancel</a>
</body></html>`;

async function formBody(ctx) {
  if (ctx.request.body && typeof ctx.request.body === 'object') return ctx.request.body;
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
}

// The second-factor page and its form, at the interaction URL while the mfa prompt is pending
// (devInteractions renders only login and consent).
function mfaInteractions(provider) {
  return async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)(\/otp)?$/.exec(ctx.path);
    if (!MFA_ACR || !match || !(ctx.method === (match[2] ? 'POST' : 'GET'))) return next();
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      return next();
    }
    if (details.prompt.name !== 'mfa' || details.uid !== match[1]) return next();
    ctx.set('cache-control', 'no-store');
    if (!match[2]) {
      ctx.type = 'html';
      ctx.body = OTP_PAGE(details.uid);
      return undefined;
    }
    const body = await formBody(ctx);
    const result = totpValid(mfa.totpSecret, body.otp)
      ? { login: { accountId: details.session.accountId, acr: MFA_ACR, amr: ['pwd', 'otp'] } }
      : { error: 'access_denied', error_description: 'the second factor was not completed' };
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}
// --- end of multi-factor authentication ---

// Per-client FAPI enforcement (provider_policy/downgrade): the clients that are not FAPI 2.0.
const controlClients = new Set(settings.controlClients || []);
const configuration = {
  clients: settings.clients,
  jwks: { keys },
  clientAuthMethods: ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
  responseTypes: ['code'],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    // Multi-factor authentication (provider_policy/mfa): acr is a claim (as by default) and
    // amr (OIDC Core 2) comes with openid, so an id_token after a second factor shows it.
    acr: null,
    openid: ['sub', 'amr'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub, name: `${sub} Example`, given_name: sub, family_name: 'Example',
          email: `${sub}@example.test`, email_verified: true,
        };
      },
    };
  },
  // Per-client FAPI enforcement (provider_policy/downgrade): PKCE is required of every client
  // on the FAPI 2.0 profile (all but the non-FAPI control clients, see features.fapi.profile).
  pkce: { required: (ctx) => ctx.oidc.isFapi('2.0') === '2.0' },
  // FAPI 2.0 SP 5.3.2.1: a client assertion's aud is the issuer, as a string (item 8, as
  // oidc-provider's FAPI 2.0 default checks), and its iat is at most 60 s ahead (item 13:
  // oidc-provider itself checks iat only when the assertion has no exp).
  async assertJwtClientAuthClaimsAndHeader(ctx, claims) {
    if (claims.aud !== ctx.oidc.issuer) {
      throw new errors.InvalidClientAuth('audience (aud) must equal the issuer identifier url');
    }
    if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + 60) {
      throw new errors.InvalidClientAuth('iat (issued at) must not be more than 60 seconds in the future');
    }
  },
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'PS256',
    token_endpoint_auth_method: 'private_key_jwt',
  },
  enabledJWA: {
    idTokenSigningAlgValues: ['PS256', 'ES256'],
    clientAuthSigningAlgValues: ['PS256', 'ES256'],
    dPoPSigningAlgValues: ['ES256', 'PS256'],
    userinfoSigningAlgValues: ['PS256', 'ES256'],
  },
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    IdToken: 300,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 3600,
  },
  // Refresh tokens are issued to clients that may use the grant and ask for offline_access;
  // they stay sender-constrained and are not rotated (FAPI 2.0 SP 5.3.2.1).
  rotateRefreshToken: () => false,
  // Refresh, id_token and keys plan: every client allowed the refresh_token grant gets a refresh
  // token (FAPI 2.0 needs no offline_access; the library's default asks for that scope and
  // prompt=consent).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Multi-factor authentication (provider_policy/mfa): the MFA acr is advertised
  // (acr_values_supported) and its second-factor prompt added to the interaction policy.
  acrValues: MFA_ACR ? [MFA_ACR] : [],
  interactions: { policy: interactionPolicyWithMfa() },
  features: {
    devInteractions: { enabled: true },
    // Per-client FAPI enforcement (provider_policy/downgrade): every client is on the FAPI 2.0
    // profile except the non-FAPI control clients (settings.controlClients).
    fapi: { enabled: true, profile: (ctx, client) => (controlClients.has(client?.clientId) ? undefined : '2.0') },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
    dPoP: { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      selfSignedTlsClientAuth: true,
      getCertificate: (ctx) => ctx.socket.getPeerX509Certificate() || undefined,
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches(ctx, property, expected) {
        if (property !== 'tls_client_auth_subject_dn') return false;
        const cert = ctx.socket.getPeerX509Certificate();
        return Boolean(cert) && sameDn(expected, cert.subject);
      },
    },
    userinfo: { enabled: true },
    // The claims request parameter (OIDC Core 5.5), for the id_token plan.
    claimsParameter: { enabled: true },
    // Token introspection (RFC 7662), so that the binding of the opaque access tokens (cnf.jkt,
    // cnf.x5t#S256) can be checked; clients authenticate as at the token endpoint.
    introspection: { enabled: true },
  },
};

// --- provider policy plan: granular access, short-lived tokens, revocation (access) ---
// A sensitive scope (payments) and a Rich Authorization Requests type (RFC 9396) for payment
// initiation; access tokens that carry either live only SHORT_LIVED_TTL seconds. Revocation
// (RFC 7009): clients authenticate as at the token endpoint (same methods and algorithms).
const SHORT_LIVED_TTL = 30;
const PAYMENT_FIELDS = {
  instructedAmount: (v) => isPlain(v) && sameKeys(v, ['currency', 'amount'])
    && /^[A-Z]{3}$/.test(v.currency) && /^\d{1,12}(\.\d{1,2})?$/.test(v.amount),
  creditorName: (v) => typeof v === 'string' && v.length > 0 && v.length <= 140,
  creditorAccount: (v) => isPlain(v) && sameKeys(v, ['iban']) && /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(v.iban),
  remittanceInformationUnstructured: (v) => typeof v === 'string' && v.length <= 140,
};
const PAYMENT_REQUIRED = ['instructedAmount', 'creditorName', 'creditorAccount'];
const PAYMENT_COMMON = ['type', 'actions', 'locations'];
function isPlain(v) { return Boolean(v) && typeof v === 'object' && !Array.isArray(v); }
function sameKeys(v, keys) { return Object.keys(v).length === keys.length && keys.every((k) => k in v); }
function sameJson(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
function isShortLived(token) {
  return String(token.scope || '').split(' ').includes('payments')
    || (token.rar || []).some((detail) => detail.type === 'payment_initiation');
}
configuration.scopes.push('payments');
configuration.ttl.AccessToken = (ctx, token) => (isShortLived(token) ? SHORT_LIVED_TTL : 300);
configuration.features.revocation = { enabled: true };
// oidc-provider wants a resource indicator with authorization_details: a request that carries
// them and names none gets the payments API; other requests keep the library's defaults.
const PAYMENTS_API = `${settings.issuer}/payments`;
configuration.features.resourceIndicators = {
  enabled: true,
  defaultResource: (ctx, client, oneOf) => oneOf
    || (ctx.oidc.params?.authorization_details ? PAYMENTS_API : undefined),
  getResourceServerInfo(ctx, resourceIndicator) {
    if (resourceIndicator === PAYMENTS_API) {
      return { scope: 'payments', accessTokenFormat: 'opaque', accessTokenTTL: SHORT_LIVED_TTL };
    }
    throw new errors.InvalidTarget();
  },
};
configuration.features.richAuthorizationRequests = {
  enabled: true,
  types: {
    payment_initiation: {
      // Strict: the three required members, each well-formed, and nothing unknown.
      validate(ctx, detail) {
        for (const name of Object.keys(detail)) {
          if (!PAYMENT_COMMON.includes(name) && !(name in PAYMENT_FIELDS)) {
            throw new errors.InvalidAuthorizationDetails(`payment_initiation: unknown member ${name}`);
          }
        }
        for (const name of PAYMENT_REQUIRED) {
          if (!(name in detail)) {
            throw new errors.InvalidAuthorizationDetails(`payment_initiation: ${name} is required`);
          }
        }
        for (const [name, valid] of Object.entries(PAYMENT_FIELDS)) {
          if (name in detail && !valid(detail[name])) {
            throw new errors.InvalidAuthorizationDetails(`payment_initiation: ${name} is malformed`);
          }
        }
        if ('actions' in detail && !detail.actions.every((a) => a === 'initiate')) {
          throw new errors.InvalidAuthorizationDetails('payment_initiation: the only action is initiate');
        }
      },
    },
  },
  // The code carries what was requested and consented to (the consent step grants it).
  authorizationDetailsForGrantSource(ctx) {
    const requested = ctx.oidc.params.authorization_details
      ? JSON.parse(ctx.oidc.params.authorization_details) : [];
    const granted = ctx.oidc.grant?.rar || [];
    return requested.filter((detail) => granted.some((g) => sameJson(g, detail)));
  },
  authorizationDetailsForAccessToken: (ctx, token, source) => source?.rar,
  authorizationDetailsForIntrospection: (ctx, token) => token.rar,
};

configureMutations(settings.mutations || [], configuration, settings);
const provider = new Provider(settings.issuer, configuration);

// Error responses hide their reason (error_detail); log it so the harness can show it as evidence.
const emit = provider.emit.bind(provider);
provider.emit = (name, ...args) => {
  if (name.endsWith('.error') || name === 'server_error') {
    const [ctx, err] = args.length > 1 ? args : [undefined, args[0]];
    logEvent({
      event: name,
      test: ctx?.get('x-fapi-harness-test') || undefined,
      method: ctx?.method,
      path: ctx?.path,
      client_id: ctx?.oidc?.client?.clientId,
      error: err?.error ?? err?.name,
      error_description: err?.error_description ?? err?.message,
      error_detail: err?.error_detail,
    });
  }
  return emit(name, ...args);
};

// FAPI 2.0 clients may send x-fapi-interaction-id; echo it (or mint one) as certified deployments do.
provider.use(async (ctx, next) => {
  const id = ctx.get('x-fapi-interaction-id') || crypto.randomUUID();
  ctx.set('x-fapi-interaction-id', id);
  await next();
});

// A mutant target (harness/targets/mutants.toml) breaks one requirement on purpose; the honest
// reference target has no mutations.
applyMutations(settings.mutations || [], {
  provider,
  keys,
  settings,
  redirectUris: settings.clients.flatMap((c) => c.redirect_uris),
});

// Multi-factor authentication (provider_policy/mfa): after the mutations, which may rewrite
// the second-factor form before it is read.
provider.use(mfaInteractions(provider));

const tlsOptions = {
  key: fs.readFileSync(settings.tls.key),
  cert: fs.readFileSync(settings.tls.cert),
  ca: [fs.readFileSync(settings.tls.clientCa)],
  requestCert: true,
  rejectUnauthorized: false, // self_signed_tls_client_auth certificates must still get through
  minVersion: 'TLSv1.2',
  // BCP 195 / FAPI 2.0 SP 5.2.2: TLS 1.2 only with ECDHE and AES-GCM; TLS 1.3 stays on.
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
  ].join(':'),
  honorCipherOrder: true,
};
// TLS mutants (mutations.mjs TLS_MUTATIONS) weaken these settings; the honest target keeps them.
configureTls(settings.mutations || [], tlsOptions);
const server = https.createServer(tlsOptions, provider.callback());

function stop() {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// When the launching process dies without stopping us (SIGKILL), stop too: nothing is left behind.
if (settings.parentPid) {
  setInterval(() => {
    try { process.kill(settings.parentPid, 0); } catch { stop(); }
  }, 500).unref();
}

server.listen(settings.port, '127.0.0.1', () => {
  const ready = `${JSON.stringify({
    ready: true,
    issuer: settings.issuer,
    pid: process.pid,
    startup_ms: Date.now() - started,
    mutations: settings.mutations || [],
  })}\n`;
  // The launcher reads this from a pipe of its own (settings.readyFd); stdout goes to the log.
  if (typeof settings.readyFd === 'number') {
    fs.writeSync(settings.readyFd, ready);
    fs.closeSync(settings.readyFd);
  } else {
    process.stdout.write(ready);
  }
});
