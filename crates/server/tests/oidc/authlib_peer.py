"""An independent OpenID Connect relying party (Authlib) for Trustplane's provider tests.

Usage: python authlib_peer.py COMMAND JSON  -> prints one JSON object.

Commands:
  code-flow          discovery, the authorization-code flow with PKCE (S256) using a browser
                     session cookie handed over by the test, ID token validation against the
                     provider's JWKS (Authlib's CodeIDToken: iss, aud, exp, iat, nonce, at_hash),
                     userinfo, then a refresh (new ID token validated the same way).
  client-credentials the client credentials grant with client_secret_basic or private_key_jwt;
                     the access token is verified against the JWKS.
  old-tokens         a relying party that kept its tokens: userinfo with the access token, then
                     a refresh (client_secret_basic); reports what the provider answered.
  forge              checks an ID token against the JWKS, then the same claims re-signed with
                     another key under the same kid: the first must verify, the second must not.

Errors from the provider are printed as {"error": ..., "error_description": ...}.
"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")  # authlib.jose announces its successor (joserfc)

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oauth2.rfc7523 import PrivateKeyJWT  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402


def discover(issuer):
    conf = requests.get(issuer + "/.well-known/openid-configuration", timeout=60).json()
    assert conf["issuer"] == issuer, conf["issuer"]
    jwks = requests.get(conf["jwks_uri"], timeout=60).json()
    return conf, jwks


def validate_id_token(id_token, jwks, issuer, client_id, now, nonce=None, access_token=None):
    params = {"client_id": client_id}
    if nonce is not None:
        params["nonce"] = nonce
    if access_token is not None:
        params["access_token"] = access_token
    claims = jwt.decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params=params,
    )
    claims.validate(now=now, leeway=5)
    return dict(claims), dict(claims.header)


def code_flow(a):
    issuer = a["issuer"]
    conf, jwks = discover(issuer)
    auth_method = "client_secret_basic" if a.get("client_secret") else "none"
    session = OAuth2Session(
        a["client_id"],
        a.get("client_secret"),
        scope=a["scope"],
        redirect_uri=a["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = session.create_authorization_url(
        conf["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    # The browser part: the person's session cookie, no redirects followed.
    browser = requests.Session()
    browser.cookies.set("tp_session", a["cookie"])
    reply = browser.get(url, allow_redirects=False, timeout=60)
    location = reply.headers.get("Location", "")
    if reply.status_code not in (302, 303) or not location.startswith(a["redirect_uri"]):
        return {"authorize_status": reply.status_code, "location": location}
    token = session.fetch_token(
        conf["token_endpoint"],
        authorization_response=location,
        code_verifier=verifier,
        state=state,
    )
    claims, header = validate_id_token(
        token["id_token"], jwks, issuer, a["client_id"], a["now"], nonce, token["access_token"]
    )
    userinfo = session.get(conf["userinfo_endpoint"], timeout=60)
    refreshed = session.refresh_token(conf["token_endpoint"], refresh_token=token["refresh_token"])
    refreshed_claims, _ = validate_id_token(
        refreshed["id_token"], jwks, issuer, a["client_id"], a["now"],
        access_token=refreshed["access_token"],
    )
    return {
        "location": location,
        "state": state,
        "nonce": nonce,
        "id_token": token["id_token"],
        "claims": claims,
        "header": header,
        "token": {k: token.get(k) for k in ("access_token", "refresh_token", "token_type", "expires_in", "scope")},
        "userinfo_status": userinfo.status_code,
        "userinfo": userinfo.json(),
        "refreshed": {k: refreshed.get(k) for k in ("access_token", "refresh_token", "id_token")},
        "refreshed_claims": refreshed_claims,
    }


def client_credentials(a):
    conf, jwks = discover(a["issuer"])
    if a.get("private_key_pem"):
        # Authlib reads the key through its JOSE layer (joserfc, Authlib's own successor).
        from joserfc.jwk import ECKey, RSAKey

        alg = a.get("alg", "ES256")
        key = (ECKey if alg.startswith("ES") else RSAKey).import_key(a["private_key_pem"])
        session = OAuth2Session(
            a["client_id"], key, token_endpoint_auth_method="private_key_jwt",
            scope=a.get("scope"),
        )
        session.register_client_auth_method(
            PrivateKeyJWT(conf["token_endpoint"], alg=alg,
                          headers={"kid": a["kid"]} if a.get("kid") else None)
        )
    else:
        session = OAuth2Session(a["client_id"], a["client_secret"], scope=a.get("scope"))
    token = session.fetch_token(conf["token_endpoint"], grant_type="client_credentials")
    claims = jwt.decode(token["access_token"], JsonWebKey.import_key_set(jwks))
    claims.validate(now=a["now"], leeway=5)
    return {"token": dict(token), "claims": dict(claims), "header": dict(claims.header)}


def old_tokens(a):
    conf, _ = discover(a["issuer"])
    session = OAuth2Session(
        a["client_id"], a["client_secret"],
        token={"access_token": a["access_token"], "token_type": "Bearer"},
    )
    userinfo = session.get(conf["userinfo_endpoint"], timeout=60)
    try:
        refreshed = session.refresh_token(conf["token_endpoint"], refresh_token=a["refresh_token"])
        refresh = {"access_token": refreshed.get("access_token")}
    except OAuthError as e:
        refresh = {"error": e.error, "error_description": e.description}
    return {
        "userinfo_status": userinfo.status_code,
        "userinfo_challenge": userinfo.headers.get("WWW-Authenticate"),
        "refresh": refresh,
    }


def forge(a):
    _, jwks = discover(a["issuer"])
    keys = JsonWebKey.import_key_set(jwks)
    original = jwt.decode(a["id_token"], keys)
    header = dict(original.header)
    # Same claims, same kid and algorithm, another key.
    other = JsonWebKey.generate_key("EC", "P-256", is_private=True) if header["alg"] == "ES256" \
        else JsonWebKey.generate_key("RSA", 2048, is_private=True)
    forged = jwt.encode(header, dict(original), other).decode()
    try:
        jwt.decode(forged, keys)
        refused = False
        error = None
    except Exception as e:  # noqa: BLE001 - any failure to verify is what we want
        refused = True
        error = type(e).__name__
    return {"original_ok": True, "forged": forged, "forged_refused": refused, "error": error}


def main():
    command, args = sys.argv[1], json.loads(sys.argv[2])
    try:
        out = {
            "code-flow": code_flow,
            "client-credentials": client_credentials,
            "old-tokens": old_tokens,
            "forge": forge,
        }[command](args)
    except OAuthError as e:
        out = {"error": e.error, "error_description": e.description}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
