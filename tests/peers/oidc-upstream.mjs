// An upstream OpenID Connect provider for Trustplane's "sign in through an external provider"
// tests: oidc-provider (npm, OpenID-certified) with one confidential client and ID tokens
// shaped like Entra ID's (oid, tid, preferred_username, email, groups, amr with mfa).
//
// node oidc-upstream.mjs PORT CLIENT_SECRET REDIRECT_URI ACCOUNTS_JSON [KEY_ID]
//
// ACCOUNTS_JSON maps a login hint to the claims of that person (sub, oid, tid, ...; `amr` is
// the list the sign-in reports). There is no login form: the interaction signs in the person
// the authorization request's login_hint names (an unknown hint is refused with
// access_denied). KEY_ID names the RS256 signing key, so a restart with another id is a key
// rotation. Prints "ready" once listening.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const [port, secret, redirectUri, accountsJson, keyId = 'upstream-rs256-1'] = process.argv.slice(2);
const accounts = JSON.parse(accountsJson);
const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
const jwk = { ...(await exportJWK(privateKey)), kid: keyId, alg: 'RS256', use: 'sig' };
const profileClaims = ['name', 'preferred_username', 'given_name', 'family_name', 'oid', 'tid',
  'groups', 'onprem_guid'];

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'trustplane',
    client_secret: secret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [jwk] },
  // Entra ID puts these in the ID token itself, not only behind userinfo.
  conformIdTokenClaims: false,
  claims: {
    // amr comes from the sign-in (the interaction's result), as Entra's does.
    openid: ['sub', 'amr'],
    profile: profileClaims,
    email: ['email'],
  },
  cookies: { keys: ['upstream-test-cookie-key-0123456789'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const person = Object.values(accounts).find((a) => a.sub === id);
    if (!person) return undefined;
    const { amr, ...claims } = person;
    return { accountId: id, claims: () => claims };
  },
  // A first-party client: the grant is made without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const person = accounts[details.params.login_hint];
  const result = person
    ? { login: { accountId: person.sub, amr: person.amr || ['pwd'] } }
    : { error: 'access_denied', error_description: 'unknown person' };
  const to = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(to);
});

provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
