// oidc-provider (npm, OpenID-certified) configured like the Trustplane benchmark node: one
// confidential client `bench-client` (client_secret_basic) with the client_credentials grant.
// ACCESS_TOKEN_FORMAT=jwt makes its access tokens ES256 JWTs, as Trustplane's are; `opaque` is
// its default (random tokens kept in its in-memory store).
//
// node oidc-provider-server.mjs PORT SECRET   (run from a folder where oidc-provider@8 is installed)
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const [port, secret] = process.argv.slice(2);
const format = process.env.ACCESS_TOKEN_FORMAT || 'jwt';
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench-client',
    client_secret: secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: 'api.read',
  }],
  jwks: { keys: [jwk] },
  scopes: ['api.read'],
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench:api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api.read',
        audience: 'urn:bench:api',
        accessTokenTTL: 600,
        accessTokenFormat: format,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
