"""A OneLogin python3-saml service provider driven by the Rust tests.

Reads one JSON command on stdin, writes one JSON answer on stdout. The SP is configured from
the IdP metadata XML the crate wrote, through OneLogin's own metadata parser.

Commands:
  validate      check a base64 SAMLResponse as the SP's ACS would
  login         SP-initiated sign-in over HTTP-Redirect: the redirect URL and the request ID
  post_request  an AuthnRequest signed with an enveloped XML signature, for HTTP-POST
  sp_metadata   the SP's own metadata XML
  parse_idp_metadata  what OneLogin's metadata parser reads from the IdP metadata
"""

import json
import sys
from urllib.parse import urlparse

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils


def settings_for(cmd):
    sp = {
        "entityId": cmd["sp_entity_id"],
        "assertionConsumerService": {
            "url": cmd["acs_url"],
            "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
        },
        "NameIDFormat": OneLogin_Saml2_Constants.NAMEID_EMAIL_ADDRESS,
        "x509cert": cmd.get("sp_cert", ""),
        "privateKey": cmd.get("sp_key", ""),
    }
    signed_requests = bool(cmd.get("sp_key"))
    settings = {
        "strict": True,
        "debug": False,
        "sp": sp,
        "security": {
            "authnRequestsSigned": signed_requests,
            "wantAssertionsSigned": cmd.get("want_assertions_signed", False),
            "wantMessagesSigned": cmd.get("want_messages_signed", False),
            "signatureAlgorithm": OneLogin_Saml2_Constants.RSA_SHA256,
            "digestAlgorithm": OneLogin_Saml2_Constants.SHA256,
            "wantNameId": True,
            "rejectDeprecatedAlgorithm": True,
        },
    }
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(cmd["idp_metadata"])
    merged = OneLogin_Saml2_IdPMetadataParser.merge_settings(settings, parsed)
    return OneLogin_Saml2_Settings(merged, sp_validation_only=not signed_requests)


def request_data(acs_url, post_data=None):
    url = urlparse(acs_url)
    return {
        "https": "on" if url.scheme == "https" else "off",
        "http_host": url.netloc,
        "script_name": url.path,
        "get_data": {},
        "post_data": post_data or {},
    }


def validate(cmd):
    settings = settings_for(cmd)
    response = OneLogin_Saml2_Response(settings, cmd["response_b64"])
    data = request_data(cmd["acs_url"], {"SAMLResponse": cmd["response_b64"]})
    valid = response.is_valid(data, cmd.get("request_id"))
    answer = {"valid": bool(valid), "error": response.get_error()}
    if valid:
        answer["name_id"] = response.get_nameid()
        answer["attributes"] = response.get_attributes()
        answer["session_index"] = response.get_session_index()
        answer["issuers"] = response.get_issuers()
    return answer


def login(cmd):
    settings = settings_for(cmd)
    auth = OneLogin_Saml2_Auth(request_data(cmd["acs_url"]), settings)
    url = auth.login(return_to=cmd.get("relay_state"))
    return {"url": url, "request_id": auth.get_last_request_id()}


def post_request(cmd):
    settings = settings_for(cmd)
    request = OneLogin_Saml2_Authn_Request(settings)
    signed = OneLogin_Saml2_Utils.add_sign(
        request.get_xml(),
        cmd["sp_key"],
        OneLogin_Saml2_Utils.format_cert(cmd["sp_cert"]),
        sign_algorithm=OneLogin_Saml2_Constants.RSA_SHA256,
        digest_algorithm=OneLogin_Saml2_Constants.SHA256,
    )
    if isinstance(signed, bytes):
        signed = signed.decode("utf-8")
    return {"xml": signed, "request_id": request.get_id()}


def sp_metadata(cmd):
    settings = settings_for(cmd)
    metadata = settings.get_sp_metadata()
    if isinstance(metadata, bytes):
        metadata = metadata.decode("utf-8")
    errors = settings.validate_metadata(metadata)
    return {"xml": metadata, "errors": errors}


def parse_idp_metadata(cmd):
    return OneLogin_Saml2_IdPMetadataParser.parse(cmd["idp_metadata"])


def main():
    cmd = json.load(sys.stdin)
    handlers = {
        "validate": validate,
        "login": login,
        "post_request": post_request,
        "sp_metadata": sp_metadata,
        "parse_idp_metadata": parse_idp_metadata,
    }
    json.dump(handlers[cmd["command"]](cmd), sys.stdout)


if __name__ == "__main__":
    main()
